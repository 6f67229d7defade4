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

	"github.com/memsdk/mem-go/headers"
)

// TestBackfillLetsEveryFittingCallOfALinePass: a mem-it head 5 complexity
// tokens short (its latest admission 3 s away) and five plain calls behind
// it: one wake lets all five pass, each keeping the head within its bound,
// not one per wake.
func TestBackfillLetsEveryFittingCallOfALinePass(t *testing.T) {
	th := syncedThrottle(t)
	th.mu.Lock()
	defer th.mu.Unlock()
	now := th.now()
	require.Zero(t, th.mem.take(now, Cost{Complexity: 165}, Cost{}), "35 complexity tokens left")
	head := newWaiter(Default, memIt)
	th.queue.push(head, now)
	d := th.take(now, memIt, head.rank)
	require.Positive(t, d)
	head.latest = now + backfillDelay*d
	var plains []*waiter
	for range 5 {
		w := newWaiter(Default, plain)
		th.queue.push(w, now)
		plains = append(plains, w)
	}
	th.backfillLocked(now, head)
	for i, w := range plains {
		assert.True(t, w.admitted, "plain call %d", i)
	}
	assert.Equal(t, 1, th.queue.len(), "only the head waits")
}

// TestBackfillAfterColdStart: ten plain calls queue behind a mem-it during
// cold start; the probe's answer leaves 35 complexity tokens, so five plain
// calls go at once (each delays the mem-it by 0.3 s, within twice its wait).
func TestBackfillAfterColdStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
		ctx := context.Background()
		start := time.Now()
		probe, err := th.Wait(ctx, plain)
		require.NoError(t, err)
		var mu sync.Mutex
		var plainAt []time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			tk, err := th.Wait(ctx, memIt)
			if assert.NoError(t, err) {
				th.Done(tk, Outcome{})
			}
		})
		synctest.Wait()
		for range 10 {
			wg.Go(func() {
				tk, err := th.Wait(ctx, plain)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				plainAt = append(plainAt, time.Since(start))
				mu.Unlock()
				th.Done(tk, Outcome{})
			})
		}
		synctest.Wait()
		h := http.Header{}
		headers.Status{
			Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 99},
			Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 35},
		}.Write(h)
		th.Done(probe, Outcome{Responded: true, StatusCode: http.StatusOK, Header: h})
		wg.Wait()
		atOnce := 0
		for _, at := range plainAt {
			if at == 0 {
				atOnce++
			}
		}
		assert.Equal(t, 5, atOnce, "plain calls at %v", plainAt)
	})
}

// TestBackfillBoundHoldsWhenTheFlightIsFull: a mem-it head waits 1.5 s for 5
// complexity tokens (latest: 3 s). 4 mem-its are in flight (160 of the 200
// the flight may hold). Plain calls queue behind the head: each fits, and
// the check "may the head still go by latest after x?" must look at the
// bucket, not stop at the full flight (which once let every plain pass and
// held the head ~12 s).
func TestBackfillBoundHoldsWhenTheFlightIsFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := syncedThrottle(t)
		ctx := context.Background()
		start := time.Now()
		inflight := memItsInFlight(t, th, 4)
		for range 5 {
			tk, err := th.Wait(ctx, plain)
			require.NoError(t, err)
			th.Done(tk, Outcome{}) // no response: level stays at 35 complexity
		}
		var headAt time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			tk, err := th.Wait(ctx, memIt)
			require.NoError(t, err)
			headAt = time.Since(start)
			th.Done(tk, Outcome{})
		})
		synctest.Wait()
		var pmu sync.Mutex
		var plainAt []time.Duration
		for range 35 {
			wg.Go(func() {
				tk, err := th.Wait(ctx, plain)
				require.NoError(t, err)
				pmu.Lock()
				plainAt = append(plainAt, time.Since(start))
				pmu.Unlock()
				time.Sleep(500*time.Millisecond - time.Since(start)) // answered with the mem-its, at 0.5 s
				th.Done(tk, Outcome{})
			})
			synctest.Wait() // one arrival at a time
		}
		t.Logf("after arrivals: %+v", th.Snapshot().Stats)
		time.Sleep(500 * time.Millisecond)
		for _, tk := range inflight { // the mem-its answer at 0.5 s
			th.Done(tk, Outcome{})
		}
		wg.Wait()
		t.Logf("backfilled %d, head admitted at %s; plains at %v", th.Snapshot().Stats.Backfilled, headAt, plainAt)
		assert.LessOrEqual(t, headAt, 3*time.Second, "the head waited 1.5 s when it reached the head: backfill may delay it to 3 s at most")
	})
}

// TestHeadFirstHeldByTheFlightStillLetsCallsPass: a head that first meets a full flight gets
// latest = now + 2×answerWait = 0.2 s, kept for good; when it then waits
// ~12 s for complexity tokens, no plain call may pass it, and the request
// bucket sits full meanwhile.
func TestHeadFirstHeldByTheFlightStillLetsCallsPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := syncedThrottle(t)
		ctx := context.Background()
		start := time.Now()
		inflight := memItsInFlight(t, th, 5)
		var wg sync.WaitGroup
		wg.Go(func() {
			tk, err := th.Wait(ctx, memIt) // flight full: 200 + 40 > 200
			require.NoError(t, err)
			th.Done(tk, Outcome{})
		})
		synctest.Wait()
		var mu sync.Mutex
		var plainAt []time.Duration
		for range 3 {
			wg.Go(func() {
				tk, err := th.Wait(ctx, plain)
				require.NoError(t, err)
				mu.Lock()
				plainAt = append(plainAt, time.Since(start))
				mu.Unlock()
				th.Done(tk, Outcome{})
			})
		}
		synctest.Wait()
		time.Sleep(time.Second)
		for _, tk := range inflight {
			th.Done(tk, Outcome{})
		}
		wg.Wait()
		t.Logf("plain calls admitted at %v; backfilled %d", plainAt, th.Snapshot().Stats.Backfilled)
		for _, at := range plainAt {
			assert.Less(t, at, 3*time.Second, "a plain call fits at ~1.3 s and delays the head by 0.3 s of its ~11.7 s wait")
		}
	})
}

// syncedThrottle is a throttle at Mem's limits past cold start, with full
// buckets.
func syncedThrottle(t *testing.T) *Throttle {
	if laneMode {
		st := &remote{s: NewMemoryStore(DefaultPolicy())}
		x := Exchange{Answers: []Answer{{Synced: true}}}
		require.NoError(t, st.Exchange(context.Background(), 0, &x))
		th, err := New(DefaultPolicy(), WithStore(st))
		require.NoError(t, err)
		return th
	}
	th, err := New(DefaultPolicy())
	require.NoError(t, err)
	th.mem.synced = true
	return th
}

// remote hides the in-memory store's type, so that a throttle treats it
// as a remote store: the lane calls it, without the throttle's lock. Its
// own lock makes State safe beside an Exchange, as a remote store must be.
type remote struct {
	mu sync.Mutex
	s  Store
}

func (r *remote) Exchange(ctx context.Context, now time.Duration, x *Exchange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Exchange(ctx, now, x)
}

func (r *remote) Adopt(ctx context.Context, now time.Duration, k headers.Kind, w headers.Window, limit int64) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Adopt(ctx, now, k, w, limit)
}

func (r *remote) State(ctx context.Context, now time.Duration) (StoreState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.State(ctx, now)
}

// takeFrom charges c to s now, as another process sharing s would: it
// reports whether s held c.
func takeFrom(t *testing.T, s Store, now time.Duration, c Cost) bool {
	x := Exchange{Admit: Admission{Calls: []Call{{Cost: c}}, Room: c}}
	require.NoError(t, s.Exchange(context.Background(), now, &x))
	return x.Admit.Calls[0].Admitted
}

// memItsInFlight admits n mem-its and leaves them in flight.
func memItsInFlight(t *testing.T, th *Throttle, n int) []Ticket {
	var tks []Ticket
	for range n {
		tk, err := th.Wait(context.Background(), memIt)
		require.NoError(t, err)
		tks = append(tks, tk)
	}
	return tks
}

// TestCallerLeavingAfterPassingTheHeadUndoesIt: a call that passed the
// waiting head (backfill) but whose caller left before taking its ticket
// (its context ended as the wake came) is undone: its tokens go back, and
// it counts as cancelled, neither admitted nor backfilled.
func TestCallerLeavingAfterPassingTheHeadUndoesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy()) // the in-memory store: this test reaches into it
		require.NoError(t, err)
		th.mu.Lock()
		now := th.now()
		for i := range th.mem.buckets {
			if th.mem.defs[i].Kind == headers.Complexity && th.mem.defs[i].Window == headers.Minute {
				th.mem.buckets[i].advance(now)
				th.mem.buckets[i].set(10) // a mem-it waits; a plain call fits
			}
		}
		th.mu.Unlock()
		go func() { _, _ = th.Wait(t.Context(), memIt) }()
		synctest.Wait()
		before := th.Snapshot()
		require.Equal(t, 1, before.Queued, "the mem-it waits at the head")

		th.mu.Lock()
		now = th.now()
		x := &waiter{cost: plain, priority: Default, rank: Default.rank(), wake: make(chan struct{}, 1)}
		th.queue.push(x, now)
		th.backfillLocked(now, th.queue.head(now))
		th.mu.Unlock()
		require.True(t, x.admitted && x.passed, "the plain call passed the head")
		require.Equal(t, before.Stats.Backfilled+1, th.Snapshot().Stats.Backfilled)

		th.cancel(x) // what its wait does when the context ends first
		after := th.Snapshot()
		assert.Equal(t, before.Stats.Backfilled, after.Stats.Backfilled)
		assert.Equal(t, before.Stats.Admitted, after.Stats.Admitted)
		assert.Equal(t, before.Stats.Cancelled+1, after.Stats.Cancelled)
		assert.InDelta(t, level(th, headers.Complexity, headers.Minute), 10.0, 1e-9, "its token is back")
		assert.Equal(t, 1, after.Queued, "the mem-it still waits")
	})
}
