// Priorities: an import and a user on one key. 300 note creates run from 16
// goroutines while a foreground loop makes a search or opens a note every
// twelfth of a minute, all on one client; the program prints how long the
// foreground calls took, for three set-ups in a row, each on a fresh client:
//
//   - one FIFO queue: no priorities, so a foreground call waits behind the
//     import's queued calls;
//   - priorities: the import's calls carry throttle.Batch and the
//     foreground's throttle.Interactive (throttle.WithPriority on the
//     context), so a foreground call waits for the next token at most;
//   - priorities and throttle.WithReserve: a couple of tokens in every
//     bucket are kept for interactive calls, so they usually go at once.
//
// With MEM_API_KEY and MEM_EXAMPLES_REAL=1 set it runs against Mem
// (MEM_API_URL for another server), waits between set-ups for the minute
// buckets to refill, and creates 903 notes on that key, which stay. With
// MEM_API_KEY alone it refuses.
//
//	go run ./examples/priority
package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/memsdk/mem-go/examples/internal/demo"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

const (
	notes   = 300 // the import's note creates
	workers = 16  // the import's goroutines
)

// setup is one way to share the key between the import and the foreground.
type setup struct {
	name       string
	priorities bool // the import is Batch and the foreground Interactive
	opts       []throttle.Option
}

func main() {
	what := fmt.Sprintf("%d notes (three set-ups of %d, with searches and reads beside them)", 3*(notes+1), notes+1)
	if err := demo.Begin("priority", what); err != nil {
		log.Fatal(err)
	}
	minute := shortestPeriod(demo.Policy()) // Mem's minute, or the mock's fast one
	setups := []setup{
		{name: "one FIFO queue"},
		{name: "priorities", priorities: true},
		{name: "priorities + reserve", priorities: true, opts: []throttle.Option{
			// Two tokens of each kind for interactive calls, released to
			// the import after half a minute without one.
			throttle.WithReserve(throttle.Cost{Requests: 2, Complexity: 2}, minute/2),
		}},
	}
	fmt.Printf("%d note creates from %d goroutines, and a search or a Get every %s, on one key:\n", notes, workers, (minute / 12).Round(time.Millisecond))
	for i, s := range setups {
		th, remote, err := run(s, minute)
		if err != nil {
			log.Fatal(err)
		}
		if remote && i < len(setups)-1 {
			refill(th, minute)
		}
	}
}

// shortestPeriod is the period of p's shortest bucket: the minute.
func shortestPeriod(p throttle.Policy) time.Duration {
	d := p.Buckets[0].Period
	for _, b := range p.Buckets {
		d = min(d, b.Period)
	}
	return d
}

// run runs the import and the foreground loop with set-up s on a fresh
// client, prints the foreground's latencies, and returns the throttle and
// whether the client talks to a real server (else to a new in-process mock).
func run(s setup, minute time.Duration) (th *throttle.Throttle, remote bool, err error) {
	th, err = throttle.New(demo.Policy(), s.opts...) // the starvation bound follows the policy's minute
	if err != nil {
		return nil, false, err
	}
	c, srv, err := demo.Client(memclient.WithThrottle(th))
	if err != nil {
		return nil, false, err
	}
	background, foreground := context.Background(), context.Background()
	if s.priorities {
		background = throttle.WithPriority(background, throttle.Batch)
		foreground = throttle.WithPriority(foreground, throttle.Interactive)
	}
	pinned, _, err := c.Notes.Create(foreground, &memclient.CreateNoteRequest{Content: "Pinned\n\nthe note the foreground opens"})
	if err != nil {
		return nil, false, err
	}

	admitted := th.Snapshot().Stats.Admitted
	imported := importNotes(background, c)
	done := make(chan struct{})
	latencies := make(chan []time.Duration)
	go func() { latencies <- foregroundLoop(foreground, c, pinned.ID, minute/12, done) }()
	took := <-imported
	calls := int(th.Snapshot().Stats.Admitted - admitted) // the import's and the foreground's meanwhile
	close(done)
	lat := <-latencies

	// Every call costs one token of each kind; the optimum is from full
	// buckets, which the pinned note's call left one token short.
	best := th.Policy().Optimum(throttle.Calls{N: calls + 1, Cost: th.Cost("POST", "/v2/notes")})
	fmt.Printf("  %-21s foreground p50 %-8s p99 %-8s max %-8s (%d calls); import %s (%d calls with the foreground's meanwhile: at best %s); 429s %d\n", s.name+":",
		percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1), len(lat),
		took.Round(time.Millisecond), calls, best.Round(time.Millisecond), th.Snapshot().Stats.RateLimited)
	return th, srv == nil, nil
}

// importNotes creates the notes from the workers and sends on the channel
// returned how long it took.
func importNotes(ctx context.Context, c *memclient.Client) <-chan time.Duration {
	took := make(chan time.Duration, 1)
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if _, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: fmt.Sprintf("Imported note %d\n\nfrom the archive", i)}); err != nil {
					log.Printf("note %d: %v", i, err)
				}
			}
		})
	}
	go func() {
		for i := range notes {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		took <- time.Since(start)
	}()
	return took
}

// foregroundLoop starts a search or a Get of the pinned note every period
// until done is closed, each on its own goroutine (a slow call does not
// delay the next), and returns how long each took.
func foregroundLoop(ctx context.Context, c *memclient.Client, pinned string, period time.Duration, done <-chan struct{}) []time.Duration {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			wg.Wait()
			return lat
		case <-tick.C:
		}
		wg.Go(func() {
			start := time.Now()
			var err error
			if i%2 == 0 {
				_, _, err = c.Notes.Search(ctx, &memclient.SearchNotesRequest{Query: "archive", Limit: 5})
			} else {
				_, _, err = c.Notes.Get(ctx, pinned)
			}
			took := time.Since(start)
			if err != nil {
				log.Printf("foreground call %d: %v", i, err)
				return
			}
			mu.Lock()
			lat = append(lat, took)
			mu.Unlock()
		})
	}
}

// refill waits until th's minute buckets are full again, so that the next
// set-up on the same key starts as this one did. (The in-process mock is
// new for every set-up: nothing to wait for.)
func refill(th *throttle.Throttle, minute time.Duration) {
	var wait time.Duration
	for _, b := range th.Snapshot().Buckets {
		if b.Period == minute {
			wait = max(wait, b.UntilFull)
		}
	}
	fmt.Printf("  (waiting %s for the minute buckets to refill)\n", wait.Round(time.Second))
	time.Sleep(wait)
}

// percentile is the nearest-rank p-th percentile of ds, rounded for
// printing (0 if ds is empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	k := min(len(s)-1, max(0, int(math.Ceil(float64(len(s))*p))-1))
	return s[k].Round(100 * time.Microsecond)
}
