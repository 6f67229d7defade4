// Many goroutines, one client: 64 workers make 400 mixed calls through one
// memclient.Client. Its throttle serves them first come, first served, inside
// all four buckets, so none of them sees a 429 and none has to coordinate.
//
//	go run ./examples/concurrent
package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/memsdk/mem-go/examples/internal/demo"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

func main() {
	if err := demo.Begin("concurrent", "200 notes (and makes 100 list calls and 100 searches)"); err != nil {
		log.Fatal(err)
	}
	c, srv, err := demo.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	const workers, calls = 64, 400
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				var err error
				switch i % 4 {
				case 0, 1: // writes
					_, _, err = c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: fmt.Sprintf("Note %d\n\nwritten by a worker", i)})
				case 2: // a list page
					_, _, err = c.Notes.List(ctx, &memclient.ListNotesOptions{Limit: 10})
				case 3: // a search
					_, _, err = c.Notes.Search(ctx, &memclient.SearchNotesRequest{Query: "worker", Limit: 5})
				}
				if err != nil {
					log.Printf("call %d: %v", i, err)
				}
			}
		})
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	took := time.Since(start)
	policy := c.Throttle().Policy()
	best := policy.Optimum(throttle.Calls{N: calls, Cost: policy.Cost("GET", "/v2/notes")})
	s := c.Throttle().Snapshot().Stats
	fmt.Printf("%d calls from %d goroutines in %s (at best %s); %d waited, 429s seen: %d\n",
		calls, workers, took.Round(time.Millisecond), best, s.Waits, s.RateLimited)
	if srv != nil {
		fmt.Printf("the mock sent %d 429s\n", srv.Count429())
	}
}
