package throttle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	memIt = Cost{Requests: 1, Complexity: 40}
	plain = Cost{Requests: 1, Complexity: 1}
)

// rig is a throttle in front of a lawServer, inside a synctest bubble.
type rig struct {
	t      *testing.T
	th     *Throttle
	server *lawServer
	client *http.Client
	start  time.Time
}

// laneMode makes newRig's throttles use a remote store (the in-memory one
// behind remote), so that the lane serves them: see TestLane.
var laneMode bool

// newThrottle is New for tests: in lane mode, with a remote store.
func newThrottle(tb testing.TB, p Policy, opts ...Option) *Throttle {
	tb.Helper()
	if laneMode {
		opts = append([]Option{WithStore(&remote{s: NewMemoryStore(p)})}, opts...)
	}
	th, err := New(p, opts...)
	require.NoError(tb, err)
	return th
}

func newRig(t *testing.T, opts ...Option) *rig {
	p := DefaultPolicy()
	th := newThrottle(t, p, opts...)
	s := newLawServer(p)
	return &rig{t: t, th: th, server: s, client: &http.Client{Transport: NewTransport(th, s)}, start: time.Now()}
}

// call sends one request of cost c and returns when (since the rig's start)
// the server saw it, and the status.
func (r *rig) call(ctx context.Context, c Cost) (int, error) {
	method, path := http.MethodGet, "/v2/notes"
	if c == memIt {
		method, path = http.MethodPost, "/v2/mem-it"
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://api.mem.ai"+path, nil)
	require.NoError(r.t, err)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// since returns the arrival times of the server's log, from the rig's start.
func (r *rig) arrivals() []time.Duration {
	var out []time.Duration
	for _, e := range r.server.entries() {
		out = append(out, e.At.Sub(r.start))
	}
	return out
}

func TestMemItBurstThenOneEvery12s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 7 {
			code, err := r.call(t.Context(), memIt)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		assert.Equal(t, []time.Duration{0, 0, 0, 0, 0, 12 * time.Second, 24 * time.Second}, r.arrivals())
	})
}

func TestPlainCallsBurst100ThenOneEvery600ms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 103 {
			code, err := r.call(t.Context(), plain)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		got := r.arrivals()
		for i := range 100 {
			require.Zero(t, got[i], "call %d", i+1)
		}
		assert.Equal(t, []time.Duration{600 * time.Millisecond, 1200 * time.Millisecond, 1800 * time.Millisecond}, got[100:])
	})
}

// TestMemItDayWindow: the complexity day bucket (8000) holds 200 mem-it
// calls, and refills at 8000/day meanwhile, so the k-th call from full
// buckets goes at max((k−5)·12 s, (k−200)·432 s). From the 206th on, the day
// window sets the pace: one call every 432 s instead of 12 s.
func TestMemItDayWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		const n = 210
		for range n {
			code, err := r.call(t.Context(), memIt)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		got := r.arrivals()
		for k := 1; k <= n; k++ {
			want := max(0, time.Duration(k-5)*12*time.Second, time.Duration(k-200)*432*time.Second)
			require.Equal(t, want, got[k-1], "call %d", k)
		}
		assert.Equal(t, 432*time.Second, got[n-1]-got[n-2])
		assert.Equal(t, got[n-1], DefaultPolicy().Optimum(Calls{N: n, Cost: memIt}), "the estimator agrees")
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
	})
}

// TestMixedLoad64GoroutinesForAnHour runs 64 goroutines through one throttle
// for about a virtual hour (long enough for the request day window to bind)
// against the law server: it must never see a request over a limit, and the
// whole must finish within 1% of the bucket-math optimum.
func TestMixedLoad64GoroutinesForAnHour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.latency = 50 * time.Millisecond
		const workers, perWorker = 64, 65
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				for i := range perWorker {
					c := plain
					if (g*perWorker+i)%50 == 0 {
						c = memIt
					}
					code, err := r.call(t.Context(), c)
					assert.NoError(t, err)
					assert.Equal(t, http.StatusOK, code)
				}
			})
		}
		wg.Wait()
		entries := r.server.entries()
		require.Len(t, entries, workers*perWorker)
		assert.Zero(t, r.server.count(http.StatusTooManyRequests), "429s")

		var plan []Calls
		for _, e := range entries {
			plan = append(plan, Calls{N: 1, Cost: e.Cost})
		}
		optimum := DefaultPolicy().Optimum(plan...)
		last := entries[len(entries)-1].At.Sub(r.start)
		t.Logf("%d calls: last admitted at %s, optimum %s, efficiency %.4f", len(entries), last, optimum, optimum.Seconds()/last.Seconds())
		assert.Greater(t, optimum, 50*time.Minute, "the workload spans about an hour")
		assert.LessOrEqual(t, last.Seconds(), optimum.Seconds()*1.01)
	})
}

func TestResyncLowersWhenSomeoneElseSpends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.spend(headers.Requests, 60) // another process took 60 of 100
		for range 45 {
			code, err := r.call(t.Context(), plain)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		got := r.arrivals()
		assert.Zero(t, got[39], "the 40 tokens left go at once")
		assert.Equal(t, 600*time.Millisecond, got[40], "then one per 0.6 s")
		s := r.th.Snapshot()
		assert.Positive(t, s.Stats.Lowered)
		assert.False(t, s.Probing)

		// Later the neighbour spends again; the next response tells.
		time.Sleep(30 * time.Second) // both sides refill 50 tokens
		r.server.spend(headers.Requests, 30)
		before := time.Now()
		code, err := r.call(t.Context(), plain) // its answer proves the spending
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		reserve := r.th.Snapshot().Reserve.Requests
		require.Positive(t, reserve, "the drift reserve expects more of the same")
		for range 24 {
			code, err := r.call(t.Context(), plain)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		// 20 tokens were left, so 5 calls wait 0.6 s each: 3 s. The reserve
		// holds back at most its tokens on top (it shrinks as it decays),
		// each worth 0.6 s of refill.
		perToken := time.Minute / RequestsPerMinute
		assert.GreaterOrEqual(t, time.Since(before), 5*perToken)
		assert.LessOrEqual(t, time.Since(before), (5+time.Duration(reserve))*perToken)
	})
}

func TestResyncRaisesWhenTheServerHasMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		// Twenty calls fail on the way: charged here, never by the server.
		r.server.failNext = 20
		for range 20 {
			_, err := r.call(t.Context(), plain)
			require.Error(t, err)
		}
		require.InDelta(t, 80, level(r.th, headers.Requests, headers.Minute), 0.01)
		code, err := r.call(t.Context(), plain)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		assert.InDelta(t, 99, level(r.th, headers.Requests, headers.Minute), 0.01, "raised to what the server holds")
		assert.Positive(t, r.th.Snapshot().Stats.Raised)
	})
}

func TestMalformedHeadersAreIgnoredAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.garbleHeaders = true
		for range 3 {
			code, err := r.call(t.Context(), plain)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		s := r.th.Snapshot()
		assert.Equal(t, uint64(3), s.Stats.MalformedHeaders)
		assert.InDelta(t, 97, level(r.th, headers.Requests, headers.Minute), 0.01, "local accounting only")
		assert.True(t, s.Probing, "no valid headers yet: still one at a time")
	})
}

func level(th *Throttle, k headers.Kind, w headers.Window) float64 {
	for _, b := range th.Snapshot().Buckets {
		if b.Kind == k && b.Window == w {
			return b.Level
		}
	}
	panic("no such bucket")
}

func TestRetryAfterPausesEveryCaller(t *testing.T) {
	for _, form := range []string{"delta-seconds", "HTTP-date"} {
		t.Run(form, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t)
				_, err := r.call(t.Context(), plain) // sync first: no probe
				require.NoError(t, err)
				r.server.reject429Next = 1
				r.server.retryAfter = "5"
				if form == "HTTP-date" {
					r.server.retryAfter = time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
				}
				var paused time.Time
				r.th.hooks.OnPause = func(until time.Time) { paused = until }
				code, err := r.call(t.Context(), plain)
				require.NoError(t, err)
				require.Equal(t, http.StatusTooManyRequests, code)
				hit := time.Now()
				assert.Equal(t, hit.Add(5*time.Second), paused)

				var wg sync.WaitGroup
				for range 10 {
					wg.Go(func() {
						code, err := r.call(t.Context(), plain)
						assert.NoError(t, err)
						assert.Equal(t, http.StatusOK, code)
					})
				}
				wg.Wait()
				entries := r.server.entries()
				require.Len(t, entries, 12)
				for _, e := range entries[2:] {
					assert.Equal(t, hit.Add(5*time.Second), e.At, "nobody goes before Retry-After, everybody right after")
				}
				assert.Equal(t, uint64(1), r.th.Snapshot().Stats.RateLimited)
			})
		})
	}
}

func TestQuota429DoesNotPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.quotaNext = 1
		code, err := r.call(t.Context(), memIt)
		require.NoError(t, err)
		require.Equal(t, http.StatusTooManyRequests, code)
		code, err = r.call(t.Context(), plain)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, []time.Duration{0, 0}, r.arrivals())
		s := r.th.Snapshot()
		assert.Equal(t, uint64(1), s.Stats.QuotaExceeded)
		assert.Zero(t, s.Stats.Pauses)
		assert.True(t, s.PausedUntil.IsZero())
	})
}

func TestDeadlineFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 5 {
			_, err := r.call(t.Context(), memIt)
			require.NoError(t, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := r.call(ctx, memIt)
		assert.Zero(t, time.Since(start), "fails at once, without waiting for the deadline")
		var de *DeadlineError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, 12*time.Second, de.Wait)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, r.server.entries(), 5, "nothing sent")

		// The tokens come at 12 s, the instant the context ends: too late.
		ctx12, cancel12 := context.WithTimeout(t.Context(), 12*time.Second)
		defer cancel12()
		_, err = r.call(ctx12, memIt)
		require.ErrorAs(t, err, &de, "a wait that ends at the deadline fails at once")
		assert.Len(t, r.server.entries(), 5, "nothing sent")

		ctx2, cancel2 := context.WithTimeout(t.Context(), 13*time.Second)
		defer cancel2()
		code, err := r.call(ctx2, memIt)
		require.NoError(t, err, "a deadline that leaves room is fine")
		assert.Equal(t, http.StatusOK, code)
	})
}

func TestCancelledWaitGivesItsPlaceBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 5 {
			_, err := r.call(t.Context(), memIt)
			require.NoError(t, err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := r.call(ctx, memIt) // would go at 12 s
			done <- err
		}()
		time.Sleep(6 * time.Second)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		_, err := r.call(t.Context(), memIt)
		require.NoError(t, err)
		got := r.arrivals()
		assert.Equal(t, 12*time.Second, got[len(got)-1], "the cancelled call took nothing: the next goes at 12 s, not 24 s")
		assert.Equal(t, uint64(1), r.th.Snapshot().Stats.Cancelled)
	})
}

// TestFIFOMemItNotStarved: with the complexity minute bucket empty, a mem-it
// queues for 40 tokens while cheap calls keep arriving. Without FIFO each
// refilled token would go to a cheap call and the mem-it would never pass.
// Cheap calls may pass it (backfill) only while it still goes within
// backfillDelay times its own wait: at 24 s, not 12 s, and never later.
func TestFIFOMemItNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for range 5 {
			_, err := r.call(t.Context(), memIt)
			require.NoError(t, err)
		}
		memItDone := make(chan time.Duration)
		go func() {
			_, err := r.call(t.Context(), memIt)
			assert.NoError(t, err)
			memItDone <- time.Since(r.start)
		}()
		synctest.Wait() // the mem-it is queued
		var wg sync.WaitGroup
		stop := time.After(30 * time.Second)
	loop:
		for {
			select {
			case <-stop:
				break loop
			case <-time.After(100 * time.Millisecond):
				wg.Go(func() {
					_, err := r.call(t.Context(), plain)
					assert.NoError(t, err)
				})
			}
		}
		assert.Equal(t, backfillDelay*12*time.Second, <-memItDone)
		wg.Wait()
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
	})
}

func TestColdStartSendsOneProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.latency = 200 * time.Millisecond
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := r.call(t.Context(), plain)
				assert.NoError(t, err)
			})
		}
		synctest.Wait()
		s := r.th.Snapshot()
		assert.True(t, s.Probing)
		assert.Equal(t, 1, s.InFlight)
		assert.Equal(t, 19, s.Queued)
		wg.Wait()
		assert.Equal(t, 1, r.server.maxInflightUnsynced)
		got := r.arrivals()
		assert.Zero(t, got[0])
		for _, at := range got[1:] {
			assert.Equal(t, 200*time.Millisecond, at, "the rest go together once the probe is answered")
		}
	})
}

// TestColdStartOnADrainedKey: another process has drained the key; a new
// process must not fire a burst into 429s.
func TestColdStartOnADrainedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.latency = 20 * time.Millisecond
		r.server.spend(headers.Requests, 98)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				code, err := r.call(t.Context(), plain)
				assert.NoError(t, err)
				assert.Equal(t, http.StatusOK, code)
			})
		}
		wg.Wait()
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
	})
}

func TestEstimateFromCurrentState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		assert.Equal(t, 60*time.Second, r.th.Estimate(Calls{N: 10, Cost: memIt}), "5 at once, 5 more at 12 s each")
		for range 5 {
			_, err := r.call(t.Context(), memIt)
			require.NoError(t, err)
		}
		assert.Equal(t, 120*time.Second, r.th.Estimate(Calls{N: 10, Cost: memIt}))
		time.Sleep(6 * time.Second)
		assert.Equal(t, 114*time.Second, r.th.Estimate(Calls{N: 10, Cost: memIt}))
		assert.Zero(t, r.th.Estimate())
	})
}

func TestWaitTakesNothingWhenContextIsDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
		tk, err := th.Wait(t.Context(), plain) // the probe
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err = th.Wait(ctx, plain)
		require.ErrorIs(t, err, context.Canceled)
		th.Done(tk, Outcome{})
		assert.InDelta(t, 99, level(th, headers.Requests, headers.Minute), 1e-9)
		assert.False(t, errors.Is(err, context.DeadlineExceeded))
	})
}

// TestNoisyNeighbour: another consumer spends 30% of the request budget,
// steadily. The drift reserve keeps 429s rare, and the client gets close to
// what the neighbour leaves: 70 requests a minute after the burst.
func TestNoisyNeighbour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.latency = 20 * time.Millisecond
		r.server.neighbour[headers.Requests] = 30.0 / 60
		const workers, perWorker = 16, 50
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range perWorker {
					for {
						code, err := r.call(t.Context(), plain)
						assert.NoError(t, err)
						if code == http.StatusOK {
							break
						}
					}
				}
			})
		}
		wg.Wait()
		entries := r.server.entries()
		rejected := r.server.count(http.StatusTooManyRequests)
		took := entries[len(entries)-1].At.Sub(r.start)
		// The best any client can do: the burst the neighbour leaves (100
		// at first, less what it spends meanwhile), then 70 a minute.
		best := time.Duration(float64(workers*perWorker-100) / (70.0 / 60) * float64(time.Second))
		t.Logf("%d calls, %d 429s (%.1f%%), took %s, bound %s, efficiency %.3f; drift stats %+v",
			workers*perWorker, rejected, 100*float64(rejected)/float64(len(entries)), took, best, best.Seconds()/took.Seconds(), r.th.Snapshot().Stats)
		assert.LessOrEqual(t, float64(rejected), 0.02*float64(len(entries)), "429s stay rare")
		assert.GreaterOrEqual(t, best.Seconds()/took.Seconds(), 0.95)
	})
}

// TestBackfillKeepsBothKindsBusy: 20 mem-it calls queued before 600 cheap
// ones. Strict FIFO would serve the mem-its first (the request bucket idles
// at its cap while they wait for complexity), then the cheap calls one per
// 0.6 s: 480 s. Letting cheap calls pass a waiting mem-it keeps the
// complexity bucket, the binding one, busy throughout: its bound is
// (20·40 + 600 − 200) / (200/min) = 360 s.
func TestBackfillKeepsBothKindsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		_, err := r.call(t.Context(), plain) // sync first: no probe
		require.NoError(t, err)
		start := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				code, err := r.call(t.Context(), memIt)
				assert.NoError(t, err)
				assert.Equal(t, http.StatusOK, code)
			})
		}
		synctest.Wait() // the mem-its are queued first
		jobs := make(chan struct{})
		for range 32 {
			wg.Go(func() {
				for range jobs {
					code, err := r.call(t.Context(), plain)
					assert.NoError(t, err)
					assert.Equal(t, http.StatusOK, code)
				}
			})
		}
		for range 600 {
			jobs <- struct{}{}
		}
		close(jobs)
		wg.Wait()
		took := time.Since(start)
		bound := time.Duration(float64(20*40+600+1-200) / (200.0 / 60) * float64(time.Second))
		s := r.th.Snapshot().Stats
		t.Logf("took %s, bound %s, efficiency %.3f, backfilled %d", took, bound, bound.Seconds()/took.Seconds(), s.Backfilled)
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		assert.GreaterOrEqual(t, bound.Seconds()/took.Seconds(), 0.95)
	})
}

// TestThrottleMadeOutsideTheBubble: a Throttle created outside the
// synctest bubble it is used in reads a bubble clock 27 years behind its
// creation; its first call fails with ErrClockBehind, not with a wait of
// decades.
func TestThrottleMadeOutsideTheBubble(t *testing.T) {
	th, err := New(DefaultPolicy())
	require.NoError(t, err)
	synctest.Test(t, func(t *testing.T) {
		_, err := th.Wait(t.Context(), plain)
		require.ErrorIs(t, err, ErrClockBehind)
		assert.Zero(t, th.Snapshot().Stats.Admitted)

		inside, err := New(DefaultPolicy())
		require.NoError(t, err)
		tk, err := inside.Wait(t.Context(), plain)
		require.NoError(t, err, "one created inside works")
		inside.Done(tk, Outcome{})
	})
}

// TestBucketStateStringShowsTheLevel: printing a snapshot shows each
// bucket's level and time to full, not only the embedded Bucket's limits.
func TestBucketStateStringShowsTheLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
		tk, err := th.Wait(t.Context(), memIt)
		require.NoError(t, err)
		th.Done(tk, Outcome{})
		got := fmt.Sprintf("%v", th.Snapshot().Buckets)
		assert.Contains(t, got, "complexity/minute (200 per 1m0s): 160.0 held, full in 12s")
		assert.Contains(t, got, "requests/minute (100 per 1m0s): 99.0 held, full in 600ms")
	})
}

// TestSnapshotSaysWhichWindowsAnswersShowed: the headers show one window
// of each kind; a snapshot marks the buckets whose level an answer showed,
// and leaves the others as this client's own reckoning.
func TestSnapshotSaysWhichWindowsAnswersShowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		for _, b := range r.th.Snapshot().Buckets {
			assert.False(t, b.Shown, "%v before any answer", b.Bucket)
		}
		_, err := r.call(t.Context(), plain)
		require.NoError(t, err)
		for _, b := range r.th.Snapshot().Buckets {
			assert.Equal(t, b.Window == headers.Minute, b.Shown, "%v", b.Bucket)
		}
	})
}
