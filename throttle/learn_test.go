package throttle

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// burst sends n calls of cost c from 8 goroutines and waits for them all.
func (r *rig) burst(n int, c Cost) {
	var wg sync.WaitGroup
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	for range 8 {
		wg.Go(func() {
			for range jobs {
				_, err := r.call(r.t.Context(), c)
				assert.NoError(r.t, err)
			}
		})
	}
	wg.Wait()
}

// lastAfter returns how long after from the server metered its last call.
func (r *rig) lastAfter(from time.Time) time.Duration {
	got := r.server.entries()
	return got[len(got)-1].At.Sub(from)
}

// TestLearnsALoweredLimit: the server halves the request limit mid-run.
// The first answer that reports it changes the bucket: at most one 429, then
// the pace of the new limit.
func TestLearnsALoweredLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.burst(100, plain) // drains the minute's 100 requests
		r.server.setLimit(headers.Requests, headers.Minute, 50)
		from := time.Now()
		r.burst(60, plain)

		assert.LessOrEqual(t, r.server.count(http.StatusTooManyRequests), 1)
		optimum := 60 * (time.Minute / 50)
		took := r.lastAfter(from)
		t.Logf("60 calls at 50 a minute: %s, optimum %s, efficiency %.3f", took, optimum, optimum.Seconds()/took.Seconds())
		assert.GreaterOrEqual(t, optimum.Seconds()/took.Seconds(), 0.98)
		assert.Equal(t, int64(50), bucketOf(r.th, headers.Requests, headers.Minute).Limit, "the policy shows the learned limit")
		assert.Equal(t, uint64(1), r.th.Snapshot().Stats.LimitsAdopted)
		// The plan knows it: 50 more calls from an empty bucket take a minute, not 30 s.
		assert.InDelta(t, time.Minute.Seconds(), r.th.Estimate(Calls{N: 50, Cost: plain}).Seconds(), 1.3)
	})
}

// TestLearnsARaisedLimit: the plan goes from 100 to 300 requests a minute;
// the first answer that says so lets the throttle use it.
func TestLearnsARaisedLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.burst(100, plain)
		r.server.setLimit(headers.Requests, headers.Minute, 300)
		r.server.setLimit(headers.Complexity, headers.Minute, 600)
		from := time.Now()
		r.burst(200, plain)

		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		optimum := 200 * (time.Minute / 300)
		took := r.lastAfter(from)
		t.Logf("200 calls at 300 a minute: %s, optimum %s, efficiency %.3f", took, optimum, optimum.Seconds()/took.Seconds())
		assert.GreaterOrEqual(t, optimum.Seconds()/took.Seconds(), 0.98)
		// 300 more calls from an empty bucket take a minute at the new limit, not three.
		assert.InDelta(t, time.Minute.Seconds(), r.th.Estimate(Calls{N: 300, Cost: plain}).Seconds(), 0.5)
	})
}

// TestHiddenWindowHoldsAtLeastTheShownOne: with a minute limit far above
// the day's, the headers always name the day; the minute window, never
// shown, holds at least what the day shows, so it does not pace the calls.
func TestHiddenWindowHoldsAtLeastTheShownOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.setLimit(headers.Requests, headers.Minute, 1_000_000_000)
		r.server.setLimit(headers.Complexity, headers.Minute, 1_000_000_000)
		from := time.Now()
		r.burst(1000, plain)

		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		assert.Less(t, r.lastAfter(from), time.Second, "1000 calls at once: the day holds 4000")
	})
}

// TestGarbageLimitsNeverStallNorExceed: limits that no bucket can be (0,
// absurdly large) are ignored and counted; limits that flap every response
// are adopted, and the levels still come from Remaining, so nothing trips.
func TestGarbageLimitsNeverStallNorExceed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit func(i int) int64
	}{
		{"zero", func(int) int64 { return 0 }},
		{"absurd", func(int) int64 { return 1 << 62 }},
		{"flapping", func(i int) int64 { return []int64{100, 1_000_000, 5}[i%3] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				th, err := New(DefaultPolicy())
				require.NoError(t, err)
				start := time.Now()
				for i := range 300 {
					tk, err := th.Wait(t.Context(), plain)
					require.NoError(t, err)
					h := http.Header{}
					h.Set(headers.RateLimitBucket, "minute")
					h.Set(headers.RateLimitLimit, strconv.FormatInt(tc.limit(i), 10))
					h.Set(headers.RateLimitRemaining, "0")
					h.Set(headers.RateLimitReset, "1")
					th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: h})
				}
				b := bucketOf(th, headers.Requests, headers.Minute)
				assert.GreaterOrEqual(t, b.Limit, int64(1))
				assert.LessOrEqual(t, b.Level, float64(b.Limit))
				// No stall: with Remaining 0 every call waits for one token,
				// at worst at the slowest limit reported (5 a minute).
				assert.LessOrEqual(t, time.Since(start), 300*(time.Minute/5))
			})
		})
	}
}

func bucketOf(th *Throttle, k headers.Kind, w headers.Window) BucketState {
	for _, b := range th.Snapshot().Buckets {
		if b.Kind == k && b.Window == w {
			return b
		}
	}
	return BucketState{}
}

// do sends one request and returns its status.
func (r *rig) do(method, path string) int {
	req, err := http.NewRequestWithContext(r.t.Context(), method, "https://api.mem.ai"+path, nil)
	require.NoError(r.t, err)
	resp, err := r.client.Do(req)
	require.NoError(r.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLearnsAPriceRise: mem-it goes from 40 to 60 complexity tokens. Sent
// one at a time, two answers measure it before any 429. Sent from 8
// goroutines, the mirror lets 5 go at once at the old price, of which the
// server fits 3: those 2 refusals show only a shortage (each found less
// than even the old price), and the next refusal of a call the server had
// the old price for proves the rise: 3 429s at most, each pausing everyone
// until Retry-After. Then mem-its go at the pace of the new price. The
// goroutines' schedule differs from run to run, so that case runs 50
// times with the throttle's own store (once through a lane, which
// measures no price): in some runs (measured between 1 in 40 and 1 in 4, depending on
// the machine's load and the race detector) the underpricing, proved by
// the mem-its' answers alone, was learned as another consumer's spending,
// and the probe's measurements allowed for it and never saw the rise.
func TestLearnsAPriceRise(t *testing.T) {
	for _, goroutines := range []int{1, 8} {
		tries := 1
		if goroutines > 1 && !laneMode { // a shared store measures no price (see below): nothing to repeat for
			tries = 50
		}
		t.Run(strconv.Itoa(goroutines), func(t *testing.T) {
			for range tries {
				learnAPriceRise(t, goroutines)
			}
		})
	}
}

func learnAPriceRise(t *testing.T, goroutines int) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.prices = map[string]Cost{"POST /v2/mem-it": {Requests: 1, Complexity: 60}}
		jobs := make(chan struct{}, 12)
		for range 12 {
			jobs <- struct{}{}
		}
		close(jobs)
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range jobs {
					for r.do(http.MethodPost, "/v2/mem-it") == http.StatusTooManyRequests {
					}
				}
			})
		}
		wg.Wait()
		max429s, goal := 1, 0.98
		if goroutines > 1 {
			max429s = 3
		}
		if laneMode && goroutines > 1 {
			// A shared store measures no price (see below): the drift
			// reserve may pace the rise instead, and in about 1 run in 130
			// (7 of 900) two more calls go at the old price first: 5 429s,
			// 0.945 of the optimum.
			max429s, goal = 5, 0.94
		}
		assert.LessOrEqual(t, r.server.count(http.StatusTooManyRequests), max429s)
		// From full: 3 at once (180 of 200), the 4th when 40 more are
		// back (12 s), then one per 60 tokens (18 s).
		optimum := 12*time.Second + 8*18*time.Second
		took := r.lastAfter(r.start)
		t.Logf("12 mem-its at 60: %s, optimum %s, efficiency %.3f; cost now %+v", took, optimum, optimum.Seconds()/took.Seconds(), r.th.Cost(http.MethodPost, "/v2/mem-it"))
		assert.GreaterOrEqual(t, optimum.Seconds()/took.Seconds(), goal)
		// Never below the price; above it by the 429's bound at most,
		// and, measured alone in flight, by Remaining's rounding.
		got := r.th.Cost(http.MethodPost, "/v2/mem-it").Complexity
		if laneMode && goroutines > 1 && got < 60 {
			// A shared store measures no price: a busy client learns
			// the rise from a 429 that proves it, or, when its drift
			// reserve covers the rise and no such 429 comes, not at
			// all (as documented); the pace above holds either way.
			return
		}
		assert.GreaterOrEqual(t, got, int64(60))
		if goroutines == 1 {
			assert.LessOrEqual(t, got, int64(61))
		}
	})
}

// TestLearnsPricesByMeasurement: search goes from 1 to 5 complexity tokens
// and an endpoint the policy does not know costs 10; neither trips a limit
// (the buckets have room), so only measurements tell. A few calls each.
func TestLearnsPricesByMeasurement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.prices = map[string]Cost{
			"POST /v2/notes/search": {Requests: 1, Complexity: 5},
			"GET /v2/tasks":         {Requests: 1, Complexity: 10},
		}
		for range 4 {
			require.Equal(t, http.StatusOK, r.do(http.MethodPost, "/v2/notes/search"))
			require.Equal(t, http.StatusOK, r.do(http.MethodGet, "/v2/tasks"))
			require.Equal(t, http.StatusOK, r.do(http.MethodGet, "/v2/notes/0e6f3f9c-8d2a-4b7e-9a51-6f1f2a3b4c5d"))
		}
		for path, price := range map[string]int64{"/v2/notes/search": 5, "/v2/tasks": 10} {
			method := http.MethodGet
			if path == "/v2/notes/search" {
				method = http.MethodPost
			}
			got := r.th.Cost(method, path)
			assert.Equal(t, int64(1), got.Requests, path)
			assert.Contains(t, []int64{price, price + 1}, got.Complexity, "%s: the price, or one more (Remaining's rounding)", path)
		}
		assert.Equal(t, Cost{Requests: 1, Complexity: 1}, r.th.Cost(http.MethodGet, "/v2/notes/5b0c1d2e-3f40-4152-8a6b-7c8d9e0f1a2b"), "every note's GET is one route")
		assert.Equal(t, MemCost(http.MethodPost, "/v2/mem-it"), r.th.Cost(http.MethodPost, "/v2/mem-it"), "not measured: as documented")
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
	})
}

// TestLearnsAnUnknownPriceFromConcurrentCalls: an endpoint the policy does
// not know costs 10 complexity tokens, and 16 goroutines call it over a
// network with latency, so calls overlap. The first answers prove a
// spending nobody counted on, which overlapping calls cannot tell apart
// from another consumer's. The throttle probes (sends one call at a time
// until measurements settle the price; the calls in flight when the probe
// began do not use it up) and learns it before any 429; then calls overlap
// again, at the pace of the price.
func TestLearnsAnUnknownPriceFromConcurrentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.uplink, r.server.latency = 20*time.Millisecond, 30*time.Millisecond
		r.server.prices = map[string]Cost{"GET /v2/tasks": {Requests: 1, Complexity: 10}}
		calls := func(n int) {
			jobs := make(chan struct{}, n)
			for range n {
				jobs <- struct{}{}
			}
			close(jobs)
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					for range jobs {
						for r.do(http.MethodGet, "/v2/tasks") == http.StatusTooManyRequests {
						}
					}
				})
			}
			wg.Wait()
		}
		calls(30)
		got := r.th.Cost(http.MethodGet, "/v2/tasks")
		assert.Contains(t, []int64{10, 11}, got.Complexity, "the price, or one more (Remaining's rounding)")
		r.server.mu.Lock()
		r.server.maxInflight = 0
		r.server.mu.Unlock()
		time.Sleep(time.Minute) // the bucket refills
		calls(10)
		assert.Greater(t, r.server.maxInflight, 1, "calls overlap once the price is known")
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		// 20 calls from the full bucket, then one per 3 s of refill; again
		// 10 at once a minute later.
		optimum := 10*3*time.Second + time.Minute
		took := r.lastAfter(r.start)
		t.Logf("30 + 10 calls at 10: %s, optimum %s, efficiency %.3f", took, optimum, optimum.Seconds()/took.Seconds())
		assert.GreaterOrEqual(t, optimum.Seconds()/took.Seconds(), 0.97)
	})
}

// TestNothingChangedNothingLearned: with the documented prices, a mixed
// sequential load measures every route at its documented price.
func TestNothingChangedNothingLearned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 20 {
			require.Equal(t, http.StatusOK, r.do(http.MethodPost, "/v2/mem-it"))
			require.Equal(t, http.StatusOK, r.do(http.MethodGet, "/v2/notes"))
		}
		assert.Equal(t, MemCost(http.MethodPost, "/v2/mem-it"), r.th.Cost(http.MethodPost, "/v2/mem-it"))
		assert.Equal(t, MemCost(http.MethodGet, "/v2/notes"), r.th.Cost(http.MethodGet, "/v2/notes"))
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		assert.Equal(t, Cost{}, r.th.Snapshot().Reserve)
	})
}

func TestRouteKeyCountsIDsAsOneRoute(t *testing.T) {
	a := routeKey("GET", "/v2/notes/0e6f3f9c-8d2a-4b7e-9a51-6f1f2a3b4c5d")
	assert.Equal(t, a, routeKey("GET", "/v2/notes/5b0c1d2e-3f40-4152-8a6b-7c8d9e0f1a2b/"))
	assert.NotEqual(t, a, routeKey("DELETE", "/v2/notes/5b0c1d2e-3f40-4152-8a6b-7c8d9e0f1a2b"))
	assert.NotEqual(t, a, routeKey("GET", "/v2/notes/search"))
	assert.NotEqual(t, routeKey("GET", "/v2/notes"), routeKey("GET", "/v2/collections"))
	assert.NotZero(t, routeKey("", ""))
	assert.Zero(t, testing.AllocsPerRun(100, func() { routeKey("GET", "/v2/notes/0e6f3f9c-8d2a-4b7e-9a51-6f1f2a3b4c5d") }))
}

// TestNoMeasurementAfterAReorderedBurst: the last answer of a burst may
// come from a call metered before another one; a call sent alone after it
// must not be measured against it (it would look 2 tokens dear).
func TestNoMeasurementAfterAReorderedBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newSynced(t, DefaultPolicy()) // 99 left
		remaining := int64(99)
		get := func() Ticket {
			tk, err := th.waitRoute(t.Context(), http.MethodGet, "/v2/notes")
			require.NoError(t, err)
			return tk
		}
		for range 3 {
			a, b := get(), get()
			// The server metered b, then a; a's answer came first.
			remaining -= 2
			answer(th, a, remaining)   // metered second
			answer(th, b, remaining+1) // metered first, answered last
			remaining--
			answer(th, get(), remaining) // alone, after both
		}
		assert.Equal(t, Cost{Requests: 1, Complexity: 1}, th.Cost(http.MethodGet, "/v2/notes"))
	})
}

// TestSharedStoreMeasuresNoPrice: with a store shared between processes,
// the other processes' calls between two answers are in the shared level,
// so nothing proves them; a measurement would count them as this call's.
// Such a throttle keeps the documented prices.
func TestSharedStoreMeasuresNoPrice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := DefaultPolicy()
		shared := &remote{s: NewMemoryStore(p)} // not the throttle's own
		th, err := New(p, WithStore(shared))
		require.NoError(t, err)
		s := newLawServer(p)
		r := &rig{t: t, th: th, server: s, client: &http.Client{Transport: NewTransport(th, s)}, start: time.Now()}
		for range 10 {
			require.Equal(t, http.StatusOK, r.do(http.MethodGet, "/v2/notes"))
			// Another process on the shared store: one call, charged to the
			// server and to the shared level alike.
			require.True(t, takeFrom(t, shared, th.now(), plain))
			s.spend(headers.Requests, 1)
			s.spend(headers.Complexity, 1)
		}
		assert.Equal(t, Cost{Requests: 1, Complexity: 1}, th.Cost(http.MethodGet, "/v2/notes"))
	})
}

// TestLearnsAPriceDearerInBothKinds: a route the policy does not know
// costs 2 requests and 10 complexity. Its answers show more spent than
// believed in both kinds, as an answer that caught another consumer's call
// does; but its request price was never confirmed, so they measure it, and
// calls one at a time learn it without a 429.
func TestLearnsAPriceDearerInBothKinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.prices = map[string]Cost{"GET /v2/tasks": {Requests: 2, Complexity: 10}}
		for range 8 {
			require.Equal(t, http.StatusOK, r.do(http.MethodGet, "/v2/tasks"))
		}
		assert.Equal(t, Cost{Requests: 2, Complexity: 10}, r.th.Cost(http.MethodGet, "/v2/tasks"))
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
	})
}
