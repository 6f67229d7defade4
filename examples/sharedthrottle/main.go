// Two clients, one throttle: the server's limits are per API key, so every
// client of one key in a process must spend from the same buckets. Give them
// one throttle.Throttle with memclient.WithThrottle; each still has its own
// settings (here, different retry limits and User-Agents).
//
//	go run ./examples/sharedthrottle
package main

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/memsdk/mem-go/examples/internal/demo"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

func main() {
	if err := demo.Begin("sharedthrottle", "150 notes (and makes 50 list calls)"); err != nil {
		log.Fatal(err)
	}
	th, err := throttle.New(demo.Policy())
	if err != nil {
		log.Fatal(err)
	}
	opts, srv, err := demo.Options()
	if err != nil {
		log.Fatal(err)
	}
	importer, err := memclient.New(append(opts, memclient.WithThrottle(th), memclient.WithUserAgent("importer/1"))...)
	if err != nil {
		log.Fatal(err)
	}
	reader, err := memclient.New(append(opts, memclient.WithThrottle(th), memclient.WithUserAgent("reader/1"), memclient.WithRetryMax(1))...)
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() { // the importer writes 150 notes
		for i := range 150 {
			if _, _, err := importer.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: fmt.Sprintf("Imported %d", i)}); err != nil {
				log.Print(err)
			}
		}
	})
	wg.Go(func() { // meanwhile the reader lists, 50 times
		for range 50 {
			if _, _, err := reader.Notes.List(ctx, &memclient.ListNotesOptions{Limit: 5}); err != nil {
				log.Print(err)
			}
		}
	})
	wg.Wait()
	s := th.Snapshot()
	fmt.Printf("200 calls from two clients through one throttle: %d admitted, %d waited, 429s %d\n", s.Stats.Admitted, s.Stats.Waits, s.Stats.RateLimited)
	if srv != nil {
		fmt.Printf("the mock sent %d 429s\n", srv.Count429())
	}
}
