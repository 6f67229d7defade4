package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// Throttle any HTTP client that talks to Mem: every request waits for its
// tokens, every response resyncs the buckets, a 429 pauses every caller.
func ExampleNewTransport() {
	th, err := throttle.New(throttle.DefaultPolicy())
	if err != nil {
		panic(err)
	}
	// Here the base transport is the bundled mock's; for Mem, pass
	// http.DefaultTransport (or your own) instead.
	srv, err := mock.New(mock.Config{})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: throttle.NewTransport(th, srv.RoundTripper())}

	req, _ := http.NewRequest(http.MethodGet, "https://api.mem.ai/v2/notes", nil)
	req.Header.Set("Authorization", "Bearer "+mock.DefaultKey)
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	for _, b := range th.Snapshot().Buckets {
		fmt.Printf("%s/%s: %.0f of %d left\n", b.Kind, b.Window, b.Level, b.Limit)
	}
	// Output:
	// requests/minute: 99 of 100 left
	// requests/day: 3999 of 4000 left
	// complexity/minute: 199 of 200 left
	// complexity/day: 7999 of 8000 left
}

// How long does a batch take at best? The bucket math, from full buckets.
func ExamplePolicy_Optimum() {
	p := throttle.DefaultPolicy()
	memIt := p.Cost(http.MethodPost, "/v2/mem-it")
	note := p.Cost(http.MethodPost, "/v2/notes")
	fmt.Println(p.Optimum(throttle.Calls{N: 10, Cost: memIt}))
	fmt.Println(p.Optimum(throttle.Calls{N: 300, Cost: note}))
	fmt.Println(p.Optimum(throttle.Calls{N: 300, Cost: memIt}))
	// Output:
	// 1m0s
	// 2m0s
	// 12h0m0s
}

// Wait and Done are the throttle's two steps, for HTTP code that cannot use
// Transport. A wait that would pass the deadline fails at once.
func ExampleThrottle_Wait() {
	th, _ := throttle.New(throttle.DefaultPolicy())
	memIt := th.Cost(http.MethodPost, "/v2/mem-it")

	tk, err := th.Wait(context.Background(), memIt)
	if err != nil {
		panic(err)
	}
	// ... send the request, then report what came back:
	th.Done(tk, throttle.Outcome{Responded: true, StatusCode: http.StatusOK, Header: http.Header{}})

	for range 4 { // the burst: 5 mem-its in all
		tk, _ := th.Wait(context.Background(), memIt)
		th.Done(tk, throttle.Outcome{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = th.Wait(ctx, memIt) // the 6th would wait 12 s
	var de *throttle.DeadlineError
	if errors.As(err, &de) {
		fmt.Println("fails at once: it would wait", de.Wait.Round(time.Second), "and", errors.Is(err, context.DeadlineExceeded))
	}
	// Output:
	// fails at once: it would wait 12s and true
}

// Calls someone is waiting on go before background work on the same key:
// mark them with a priority on their context (memclient and Transport pass
// it through). Here an import has spent the minute's requests and queued
// three more calls; a search that comes later still goes first.
func ExampleWithPriority() {
	p := throttle.DefaultPolicy()
	for i := range p.Buckets {
		p.Buckets[i].Period /= 10 // a "minute" of 6 s: a request token every 60 ms
	}
	th, _ := throttle.New(p)
	note := th.Cost(http.MethodGet, "/v2/notes")
	ctx := context.Background()
	for range 100 { // the import spends the burst
		tk, _ := th.Wait(ctx, note)
		th.Done(tk, throttle.Outcome{})
	}

	batch := throttle.WithPriority(ctx, throttle.Batch)
	order := make(chan string, 4)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			tk, _ := th.Wait(batch, note)
			order <- "import"
			th.Done(tk, throttle.Outcome{})
		})
	}
	for th.Snapshot().Queue.Batch < 3 {
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("waiting: %+v\n", th.Snapshot().Queue)

	tk, _ := th.Wait(throttle.WithPriority(ctx, throttle.Interactive), note)
	order <- "search"
	th.Done(tk, throttle.Outcome{})
	wg.Wait()
	close(order)
	for call := range order {
		fmt.Println(call)
	}
	// Output:
	// waiting: {Interactive:0 Default:0 Batch:3}
	// search
	// import
	// import
	// import
}

// A mock (or memmock) run on a fast clock, here a minute that lasts a
// second, needs a policy on the same clock: the headers tell a throttle
// the limits and levels, not how long a window is.
func ExamplePolicy_WithWindows() {
	p := throttle.DefaultPolicy().WithWindows(time.Second, time.Minute)
	for _, b := range p.Buckets {
		fmt.Println(b)
	}
	// Output:
	// requests/minute (100 per 1s)
	// requests/day (4000 per 1m0s)
	// complexity/minute (200 per 1s)
	// complexity/day (8000 per 1m0s)
}
