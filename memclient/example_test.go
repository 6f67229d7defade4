package memclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// newExampleClient returns a client of an in-memory mock Mem server, so the
// examples run offline. Against the real API, call memclient.New() with
// MEM_API_KEY set, or pass memclient.WithAPIKey.
func newExampleClient() *memclient.Client {
	srv := mock.MustNew(mock.Config{})
	c, err := memclient.New(
		memclient.WithAPIKey(mock.DefaultKey),
		memclient.WithBaseURL("http://mem.test"),
		memclient.WithTransport(srv.RoundTripper()),
	)
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func Example() {
	ctx := context.Background()
	c := newExampleClient()

	note, resp, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: "Groceries\n- [ ] milk\n- [ ] eggs"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(note.Title, note.Version)
	// The response tells how much of the rate budget is left.
	fmt.Println(resp.Rate.Requests.Window, resp.Rate.Requests.Remaining)
	// Output:
	// Groceries 1
	// minute 99
}

func ExampleNew() {
	// With MEM_API_KEY (and optionally MEM_API_URL) set, New needs no options.
	_, err := memclient.New(memclient.WithAPIKey(""))
	fmt.Println(errors.Is(err, memclient.ErrNoAPIKey))
	// Output: true
}

func ExampleClient_MemIt() {
	ctx := context.Background()
	c := newExampleClient()
	// mem-it costs 40 complexity tokens: 5 at once, then one every 12 s.
	res, _, err := c.MemIt(ctx, &memclient.MemItRequest{
		Input:        "Call with Ada: ship v2 on Friday; Ada writes the release notes.",
		Instructions: "Extract action items.",
	})
	var unknown *memclient.OutcomeUnknownError
	switch {
	case errors.As(err, &unknown):
		fmt.Println("may or may not have been captured; check before resending")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(res.RequestID != "")
	}
	// Output: true
}

func ExampleNotesService_Update() {
	ctx := context.Background()
	c := newExampleClient()
	note, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: "Draft\nfirst words"})
	if err != nil {
		log.Fatal(err)
	}
	note, _, err = c.Notes.Update(ctx, note.ID, &memclient.UpdateNoteRequest{Content: "Final\nbetter words", Version: note.Version})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(note.Title, note.Version)

	// An update based on an old version is refused.
	_, _, err = c.Notes.Update(ctx, note.ID, &memclient.UpdateNoteRequest{Content: "Stale", Version: 1})
	var conflict *memclient.ConflictError
	if errors.As(err, &conflict) && conflict.Reason == memclient.ReasonVersionConflict {
		fmt.Println("stale; current version", conflict.CurrentVersion)
	}
	// Output:
	// Final 2
	// stale; current version 2
}

func ExampleNotesService_All() {
	ctx := context.Background()
	c := newExampleClient()
	for i := range 3 {
		if _, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: fmt.Sprintf("Note %d", i)}); err != nil {
			log.Fatal(err)
		}
	}
	// 1 request and 1 complexity token per page of up to 100 notes.
	n := 0
	for note, err := range c.Notes.All(ctx, &memclient.ListNotesOptions{Limit: memclient.MaxListLimit, OrderBy: memclient.OrderByCreatedAt}) {
		if err != nil {
			log.Fatal(err)
		}
		_ = note.Title
		n++
	}
	fmt.Println(n, "notes")
	// Output: 3 notes
}

func ExampleNotesService_SearchAll() {
	ctx := context.Background()
	c := newExampleClient()
	for _, s := range []string{"Trip to Lisbon\nflights", "Lisbon restaurants\nfish", "Taxes\nforms"} {
		if _, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: s}); err != nil {
			log.Fatal(err)
		}
	}
	for note, err := range c.Notes.SearchAll(ctx, &memclient.SearchNotesRequest{Query: "lisbon", Limit: memclient.MaxSearchLimit}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(note.Title)
	}
	// Unordered output:
	// Trip to Lisbon
	// Lisbon restaurants
}

func ExampleCollectionsService_AddNote() {
	ctx := context.Background()
	c := newExampleClient()
	col, _, err := c.Collections.Create(ctx, &memclient.CreateCollectionRequest{Title: "Travel"})
	if err != nil {
		log.Fatal(err)
	}
	note, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: "Packing list"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Collections.AddNote(ctx, col.ID, note.ID); err != nil {
		log.Fatal(err)
	}
	col, _, err = c.Collections.Get(ctx, col.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(col.Title, col.NoteCount)
	// Output: Travel 1
}

func ExampleNotFoundError() {
	ctx := context.Background()
	c := newExampleClient()
	_, _, err := c.Notes.Get(ctx, "00000000-0000-4000-8000-000000000000")
	var nf *memclient.NotFoundError
	fmt.Println(errors.As(err, &nf), nf.API.StatusCode)
	// Output: true 404
}

func ExampleRateLimitError() {
	ctx := context.Background()
	c := newExampleClient()
	for range 5 { // five mem-its empty the complexity minute bucket
		if _, _, err := c.MemIt(ctx, &memclient.MemItRequest{Input: "x"}); err != nil {
			log.Fatal(err)
		}
	}
	// The sixth would wait about 12 s; with a 1 s deadline it fails at once,
	// sending nothing.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, _, err := c.MemIt(ctx, &memclient.MemItRequest{Input: "x"})
	var rl *memclient.RateLimitError
	if errors.As(err, &rl) {
		fmt.Println("retry in about", rl.RetryAfter.Round(time.Second))
	}
	// Output: retry in about 12s
}

func ExampleWithThrottle() {
	// Clients that use the same API key share one throttle: the limits are
	// per key.
	th, err := throttle.New(throttle.DefaultPolicy())
	if err != nil {
		log.Fatal(err)
	}
	srv := mock.MustNew(mock.Config{})
	opts := []memclient.Option{
		memclient.WithAPIKey(mock.DefaultKey), memclient.WithTransport(srv.RoundTripper()), memclient.WithThrottle(th),
	}
	a, _ := memclient.New(opts...)
	b, _ := memclient.New(opts...)
	fmt.Println(a.Throttle() == b.Throttle())
	// Output: true
}

func ExampleCreateNoteRequest_Validate() {
	// Validate runs the check Notes.Create runs before sending, without a
	// client: nothing is sent and no rate budget is spent.
	req := &memclient.CreateNoteRequest{
		Content:   "Trip notes",
		CreatedAt: time.Now().Add(24 * time.Hour),
	}
	var ve *memclient.ValidationError
	if err := req.Validate(); errors.As(err, &ve) {
		fmt.Println(ve.Field, ve.Problem)
	}
	req.CreatedAt = time.Time{}
	fmt.Println(req.Validate())
	// Output:
	// created_at may not be in the future
	// <nil>
}
