package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
