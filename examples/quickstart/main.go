// Quick start: create a note, read it back, search, and list, printing what
// each call left in the rate-limit buckets.
//
//	go run ./examples/quickstart           # against an in-process mock
//	MEM_API_KEY=... MEM_EXAMPLES_REAL=1 go run ./examples/quickstart   # against Mem: the note stays
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/memsdk/mem-go/examples/internal/demo"
	"github.com/memsdk/mem-go/memclient"
)

func main() {
	if err := demo.Begin("quickstart", `1 note ("Quick start")`); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c, _, err := demo.Client()
	if err != nil {
		log.Fatal(err)
	}

	// Create: the first line is the title. The client gives the note an id
	// before sending, so a retry after a lost response cannot duplicate it.
	note, resp, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{
		Content: "Quick start\n\nCreated by the mem-go quick start example.",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("created %q (id %s, version %d); %d requests left this %s\n",
		note.Title, note.ID, note.Version, resp.Rate.Requests.Remaining, resp.Rate.Requests.Window)

	// Read it back.
	got, _, err := c.Notes.Get(ctx, note.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read back: %q\n", got.Content)

	// Search: SearchAll pages through every result (Mem returns at most 100).
	for item, err := range c.Notes.SearchAll(ctx, &memclient.SearchNotesRequest{Query: "quick start"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("search hit: %s %q\n", item.ID, item.Title)
	}

	// List: All follows the next_page cursor until the end, or until you break.
	n := 0
	for _, err := range c.Notes.All(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	if n == 1 {
		fmt.Println("1 note in all")
	} else {
		fmt.Printf("%d notes in all\n", n)
	}

	for _, b := range c.Throttle().Snapshot().Buckets {
		fmt.Printf("bucket %s/%s: %.1f of %d\n", b.Kind, b.Window, b.Level, b.Limit)
	}
}
