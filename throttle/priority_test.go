package throttle

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// importWithSearches queues an import of n notes at batch priority (all at
// once, as a deep queue) and, until it ends, a search at interactive
// priority every 5 s. It returns each search's wait (from its call to its
// answer: the law server answers at once) and when the import ended.
func importWithSearches(t *testing.T, r *rig, n int) (searches []time.Duration, end time.Duration) {
	t.Helper()
	batch := WithPriority(t.Context(), Batch)
	interactive := WithPriority(t.Context(), Interactive)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, err := r.call(batch, plain)
			assert.NoError(t, err)
			assert.Equal(t, http.StatusOK, code)
		})
	}
	done := make(chan struct{})
	var searcher sync.WaitGroup
	searcher.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Second):
			}
			start := time.Now()
			code, err := r.call(interactive, plain)
			assert.NoError(t, err)
			assert.Equal(t, http.StatusOK, code)
			searches = append(searches, time.Since(start))
		}
	})
	wg.Wait()
	end = time.Since(r.start)
	close(done)
	searcher.Wait()
	return searches, end
}

// TestInteractiveCallsGoBeforeAnImport: 500 notes imported at batch
// priority and a search every 5 s at interactive priority. With one FIFO
// queue a search would wait behind the whole import (minutes); by priority
// it waits for the next token at most (0.6 s), and the import still ends
// within 2% of the bucket-math optimum for all the calls made.
func TestInteractiveCallsGoBeforeAnImport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		waited := map[Priority]int{}
		r := newRig(t, WithHooks(Hooks{OnWait: func(e WaitEvent) {
			mu.Lock()
			waited[e.Priority]++
			mu.Unlock()
		}}))
		const n = 500
		searches, end := importWithSearches(t, r, n)
		require.NotEmpty(t, searches)
		for i, w := range searches {
			assert.LessOrEqual(t, w, time.Second, "search %d", i)
		}
		optimum := DefaultPolicy().Optimum(Calls{N: n + len(searches), Cost: plain})
		assert.LessOrEqual(t, end.Seconds(), optimum.Seconds()*1.02, "import of %d with %d searches", n, len(searches))
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		// Every batch call past the burst waited; those of the burst too
		// when they queued before the first answer ended cold start (the
		// goroutines' schedule decides: 2 runs in 300), but never the first.
		assert.GreaterOrEqual(t, waited[Batch], n-100, "every batch call past the burst waited")
		assert.Less(t, waited[Batch], n, "the first call goes at once")
		assert.Positive(t, waited[Interactive], "the hooks tell the searches' waits apart")
		assert.Zero(t, waited[Default])
	})
}

// TestReserveLetsInteractiveCallsGoAtOnce: with two tokens of each kind
// kept for interactive calls, every search goes at once during the import,
// and the import pays only the reserve's refill (1.2 s) for it.
func TestReserveLetsInteractiveCallsGoAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reserve := Cost{Requests: 2, Complexity: 2}
		r := newRig(t, WithReserve(reserve, 30*time.Second))
		const n = 500
		searches, end := importWithSearches(t, r, n)
		require.NotEmpty(t, searches)
		for i, w := range searches {
			assert.Zero(t, w, "search %d", i)
		}
		optimum := DefaultPolicy().Optimum(Calls{N: n + len(searches), Cost: plain})
		assert.LessOrEqual(t, end, optimum+1200*time.Millisecond+time.Nanosecond)
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
	})
}

// TestReserveIsReleasedWhenNoInteractiveCallComes: a batch alone waits for
// the reserve only until the idle time has passed since New; then it
// spends it, so a reserve nobody uses costs nothing after that.
func TestReserveIsReleasedWhenNoInteractiveCallComes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, WithReserve(Cost{Requests: 10, Complexity: 10}, 20*time.Second))
		batch := WithPriority(t.Context(), Batch)
		for range 150 {
			_, err := r.call(batch, plain)
			require.NoError(t, err)
		}
		got := r.arrivals()
		assert.Zero(t, got[89], "90 go at once: 10 stay for interactive calls")
		assert.Equal(t, 600*time.Millisecond, got[90], "then one per token refilled, the reserve kept")
		assert.Equal(t, 19800*time.Millisecond, got[122])
		assert.Equal(t, 20*time.Second, got[123], "20 s after New the reserve is released")
		assert.Equal(t, 20*time.Second, got[132], "and its 10 tokens spent at once")
		assert.Equal(t, DefaultPolicy().Optimum(Calls{N: 150, Cost: plain}), got[149], "no loss by the end")
	})
}

// TestBatchIsNotStarved: interactive callers that spend every token as it
// comes would keep batch work waiting forever under strict priority; the
// starvation bound admits a batch call at least every 10 s (a sixth of a
// minute, the default)
// plus what its tokens take (the head's wait, doubled by calls that may
// pass it: 1.2 s here).
func TestBatchIsNotStarved(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every time.Duration // each interactive caller's pause between calls; 0: none
	}{
		{"saturating", 0},
		{"90% of the limit", 40 * time.Second / 3}, // 20 callers, each 4.5 calls a minute: 90
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t)
				interactive := WithPriority(t.Context(), Interactive)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for range 20 {
					wg.Go(func() {
						for {
							select {
							case <-stop:
								return
							case <-time.After(tc.every):
							}
							_, _ = r.call(interactive, plain)
						}
					})
				}
				time.Sleep(30 * time.Second) // the burst is long spent
				bound := 10*time.Second + 2*600*time.Millisecond
				const n = 20
				batch, cancel := context.WithTimeout(WithPriority(t.Context(), Batch), 2*n*bound) // fail, not hang
				defer cancel()
				var mu sync.Mutex
				var admitted []time.Duration
				var batchers sync.WaitGroup
				start := time.Now()
				for range n {
					batchers.Go(func() {
						_, err := r.call(batch, plain)
						if !assert.NoError(t, err) {
							return
						}
						mu.Lock()
						admitted = append(admitted, time.Since(start))
						mu.Unlock()
					})
				}
				batchers.Wait()
				close(stop)
				wg.Wait()
				t.Logf("batch admitted at %v", admitted)
				require.Len(t, admitted, n)
				prev := time.Duration(0)
				for i, at := range admitted {
					assert.LessOrEqual(t, at-prev, bound, "batch call %d", i)
					prev = at
				}
				assert.Zero(t, r.server.count(http.StatusTooManyRequests))
			})
		})
	}
}

// TestPriorityOrderWithinTheQueue: calls that wait are served interactive
// first, then default, then batch, and FIFO within each.
func TestPriorityOrderWithinTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 100 { // drain the minute's requests
			_, err := r.call(t.Context(), plain)
			require.NoError(t, err)
		}
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		for _, c := range []struct {
			name string
			p    Priority
		}{{"b1", Batch}, {"d1", Default}, {"b2", Batch}, {"i1", Interactive}, {"d2", Default}, {"i2", Interactive}} {
			wg.Go(func() {
				_, err := r.call(WithPriority(t.Context(), c.p), plain)
				assert.NoError(t, err)
				mu.Lock()
				order = append(order, c.name)
				mu.Unlock()
			})
			synctest.Wait()
		}
		s := r.th.Snapshot()
		assert.Equal(t, QueueLengths{Interactive: 2, Default: 2, Batch: 2}, s.Queue)
		assert.Equal(t, 6, s.Queued)
		wg.Wait()
		assert.Equal(t, []string{"i1", "i2", "d1", "d2", "b1", "b2"}, order)
	})
}

// TestPriorityGoesThroughTheContext: the priority rides on the context, so
// any HTTP code that passes one reaches the throttle with it.
func TestStarvationBoundFollowsThePolicy(t *testing.T) {
	th, err := New(DefaultPolicy())
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, th.queue.starve, "a sixth of Mem's minute")
	fast := DefaultPolicy()
	for i := range fast.Buckets {
		fast.Buckets[i].Period /= 60
	}
	th, err = New(fast)
	require.NoError(t, err)
	assert.Equal(t, time.Second/6, th.queue.starve, "a minute that lasts a second")
	th, err = New(fast, WithMaxStarvation(time.Minute), WithMaxStarvation(0))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, th.queue.starve, "set, and 0 ignored")
}

func TestPriorityGoesThroughTheContext(t *testing.T) {
	ctx := WithPriority(context.Background(), Interactive)
	assert.Equal(t, Interactive, PriorityOf(ctx))
	assert.Equal(t, Default, PriorityOf(context.Background()))
	assert.Equal(t, Batch, PriorityOf(WithPriority(ctx, Batch)), "the innermost wins")
	assert.Equal(t, "interactive default batch", Interactive.String()+" "+Default.String()+" "+Batch.String())
	assert.Equal(t, Default.rank(), Priority(42).rank(), "an unknown priority counts as default")
}
