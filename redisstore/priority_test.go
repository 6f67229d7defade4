package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hundredPerSecondPolicy refills 100 complexity tokens a second (10 ms a
// token); request tokens abound.
func hundredPerSecondPolicy() throttle.Policy {
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 1000, Period: time.Second},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: 2 * time.Second},
	}
	return p
}

// call is one call of a priorities scenario: in process proc, at priority
// p, costing one request and complexity tokens.
type call struct {
	label      string
	proc       string
	p          throttle.Priority
	complexity int64
}

// runInOrder starts the calls one after the other, on the throttles by
// process name, each once the one before has been tried in Redis: it was
// admitted, or its process holds a place in the shared queue at its cost
// (its own, or its head's, which it waits behind). It returns the labels in
// the order the calls were admitted, with how long each waited.
func runInOrder(t *testing.T, rs *redisServer, key string, procs map[string]*throttle.Throttle, calls []call) (order []string, waited map[string]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	waited = map[string]time.Duration{}
	var wg sync.WaitGroup
	for _, c := range calls {
		th := procs[c.proc]
		before := th.Snapshot()
		wg.Go(func() {
			start := time.Now()
			tk, err := th.Wait(throttle.WithPriority(t.Context(), c.p), throttle.Cost{Requests: 1, Complexity: c.complexity})
			if err != nil {
				t.Errorf("%s: %v", c.label, err)
				return
			}
			mu.Lock()
			order = append(order, c.label)
			waited[c.label] = time.Since(start)
			mu.Unlock()
			th.Done(tk, throttle.Outcome{})
		})
		for deadline := time.Now().Add(5 * time.Second); !tried(t, rs, key, th, before, c.complexity); {
			require.True(t, time.Now().Before(deadline), "%s was neither admitted nor placed in the shared queue", c.label)
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	return order, waited
}

// tried reports whether a call started on th since the snapshot before
// was admitted, or waits in th's queue while th's place in key's shared
// queue waits for complexity tokens (a call behind its process's head of
// the same cost finds the place already there: it must be queued too, or
// the next call of the process could queue before it).
func tried(t *testing.T, rs *redisServer, key string, th *throttle.Throttle, before throttle.Snapshot, complexity int64) bool {
	now := th.Snapshot()
	if now.Stats.Admitted > before.Stats.Admitted {
		return true
	}
	return now.Queued > before.Queued && placed(t, rs, key, complexity)
}

// placed reports whether a place in key's shared queue waits for
// complexity tokens (its record is "expiry, then the cost per bucket", and
// the policies here end with their complexity bucket).
func placed(t *testing.T, rs *redisServer, key string, complexity int64) bool {
	places, err := rs.Client(t).HVals(t.Context(), redisstore.HashTag(key)+":waiters").Result()
	require.NoError(t, err)
	for _, p := range places {
		f := strings.Fields(p)
		if f[len(f)-1] == strconv.FormatInt(complexity, 10) {
			return true
		}
	}
	return false
}

// Priorities order the calls of one Throttle. Across processes, each
// Store holds one place in the shared queue, its Throttle's head's; so a
// call of another process waits behind that place, whatever the
// priorities, but only behind that one call, not behind the queue it
// leads. The buckets are empty at the start and refill 100 tokens a second,
// and each scenario's first call costs 100 or more, so it waits at least a
// second (calls of one process cost the same, or a cheaper one would pass
// its head): every step waits for the one before to queue, and all have
// queued long before the first call goes (under -race on a busy machine,
// the steps took more than the 0.3 s that a first call of 30 waited), so
// the order depends on the shared queue, not on timing.
func TestPrioritiesAcrossProcesses(t *testing.T) {
	rs := startRedis(t)
	p := hundredPerSecondPolicy()
	for _, tc := range []struct {
		name  string
		calls []call
		want  []string
	}{{
		// B imports; an interactive call in A waits behind B's head (one
		// call), then goes before the rest of B's import.
		name: "an interactive call waits for another process's head, not its queue",
		calls: []call{
			{"B1", "B", throttle.Batch, 100}, {"B2", "B", throttle.Batch, 100}, {"B3", "B", throttle.Batch, 100},
			{"A-search", "A", throttle.Interactive, 10},
		},
		want: []string{"B1", "A-search", "B2", "B3"},
	}, {
		// The same calls in one process: the interactive call goes first.
		name: "in one process, an interactive call goes first",
		calls: []call{
			{"B1", "B", throttle.Batch, 100}, {"B2", "B", throttle.Batch, 100}, {"B3", "B", throttle.Batch, 100},
			{"B-search", "B", throttle.Interactive, 10},
		},
		want: []string{"B-search", "B1", "B2", "B3"},
	}, {
		// A's batch head holds the first place, B's the second; A's
		// interactive call becomes A's head and so takes A's place: it
		// goes first. A's batch call then queues anew, behind B's.
		name: "an interactive call takes its process's place",
		calls: []call{
			{"A-batch", "A", throttle.Batch, 120}, {"B-batch", "B", throttle.Batch, 60},
			{"A-search", "A", throttle.Interactive, 10},
		},
		want: []string{"A-search", "B-batch", "A-batch"},
	}, {
		// Priorities are not compared across processes: B's interactive
		// call waits behind A's batch head, whose place came first.
		name: "priorities are not compared across processes",
		calls: []call{
			{"A-batch", "A", throttle.Batch, 100},
			{"B-search", "B", throttle.Interactive, 10},
		},
		want: []string{"A-batch", "B-search"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			key := "prio-" + t.Name()
			drainTo(t, rs, key, p, 0)
			procs := map[string]*throttle.Throttle{}
			for _, name := range []string{"A", "B"} {
				s, _ := newStore(t, rs, key, p, 0.5)
				th, err := throttle.New(p, throttle.WithStore(s))
				require.NoError(t, err)
				procs[name] = th
			}
			order, waited := runInOrder(t, rs, key, procs, tc.calls)
			t.Logf("admitted %v; waits %v", order, waited)
			assert.Equal(t, tc.want, order)
		})
	}
}

// recordingStore records the wait that each exchange told a cost: 0 for
// a call admitted, the head's wait for the first call not admitted.
type recordingStore struct {
	throttle.Store
	mu    sync.Mutex
	waits map[throttle.Cost][]time.Duration
}

func (s *recordingStore) Exchange(ctx context.Context, now time.Duration, x *throttle.Exchange) error {
	err := s.Store.Exchange(ctx, now, x)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waits == nil {
		s.waits = map[throttle.Cost][]time.Duration{}
	}
	head := true
	for _, c := range x.Admit.Calls {
		switch {
		case c.Admitted:
			s.waits[c.Cost] = append(s.waits[c.Cost], 0)
		case head:
			s.waits[c.Cost] = append(s.waits[c.Cost], x.Admit.Wait)
			head = false
		}
	}
	return err
}

// firstWait returns the first wait recorded for c, once there was one.
func (s *recordingStore) firstWait(t *testing.T, c throttle.Cost) time.Duration {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		s.mu.Lock()
		ws := s.waits[c]
		s.mu.Unlock()
		if len(ws) > 0 {
			return ws[0]
		}
		require.True(t, time.Now().Before(deadline), "no exchange tried %v", c)
		time.Sleep(time.Millisecond)
	}
}

// WithReserve keeps room for interactive calls among the calls of one
// Throttle. Across processes it does not: B's batch head, waiting for its
// cost plus B's reserve, holds B's place in the shared queue, and A's
// interactive call waits behind that place, for B's head's cost and
// reserve, then its own. So B's reserve lengthens A's wait by the
// reserve's refill, while in one process the same interactive call goes at
// once. Complexity refills one token every 1000 s here, so nothing
// refills during the test and the waits the store returns are whole tokens
// of the bucket math: B's batch call (20) finds 10 tokens, A's search
// costs 5, the reserve is 10.
func TestReserveAcrossProcesses(t *testing.T) {
	const perToken = 1000 * time.Second
	rs := startRedis(t)
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 1000, Period: time.Second},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: 200 * perToken},
	}
	reserve := throttle.WithReserve(throttle.Cost{Complexity: 10}, time.Hour)
	batchCost, searchCost := throttle.Cost{Requests: 1, Complexity: 20}, throttle.Cost{Requests: 1, Complexity: 5}
	const slack = time.Second // Redis's clock runs on between the calls: a millitoken a second
	for _, tc := range []struct {
		name     string
		bReserve bool // B holds a reserve (A always does)
		sameProc bool // the search is made on B's throttle
		want     time.Duration
	}{
		{"B holds a reserve", true, false, 25 * perToken}, // B's head waits for 20+10 (20 tokens), then the search's 5
		{"B holds none", false, false, 15 * perToken},     // B's head waits for 20 (10 tokens), then the search's 5
		{"one process", true, true, 0},                    // the search takes the place and 5 of the 10 kept
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "reserve-" + t.Name()
			drainTo(t, rs, key, p, 10)
			newThrottle := func(opts ...throttle.Option) (*throttle.Throttle, *recordingStore) {
				s, _ := newStore(t, rs, key, p, 0.5)
				rec := &recordingStore{Store: s}
				th, err := throttle.New(p, append(opts, throttle.WithStore(rec))...)
				require.NoError(t, err)
				return th, rec
			}
			var bOpts []throttle.Option
			if tc.bReserve {
				bOpts = append(bOpts, reserve)
			}
			b, bStore := newThrottle(bOpts...)
			a, aStore := newThrottle(reserve)
			if tc.sameProc {
				a, aStore = b, bStore
			}

			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			wait := func(th *throttle.Throttle, p throttle.Priority, c throttle.Cost) {
				wg.Go(func() {
					if tk, err := th.Wait(throttle.WithPriority(ctx, p), c); err == nil {
						th.Done(tk, throttle.Outcome{})
					}
				})
			}
			wait(b, throttle.Batch, batchCost)
			bHead := batchCost.Complexity // what B's head waits for: its cost, and B's reserve if held
			if tc.bReserve {
				bHead += 10
			}
			for deadline := time.Now().Add(5 * time.Second); !placed(t, rs, key, bHead); {
				require.True(t, time.Now().Before(deadline), "B's batch call never took a place in the shared queue")
				time.Sleep(time.Millisecond)
			}
			wait(a, throttle.Interactive, searchCost)
			got := aStore.firstWait(t, searchCost)
			t.Logf("the search was told to wait %.3f tokens' refill", float64(got)/float64(perToken))
			assert.InDelta(t, tc.want, got, float64(slack))
		})
	}
}
