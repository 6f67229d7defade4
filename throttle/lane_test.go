package throttle

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLane runs the throttle's behavioural tests again with a remote store
// (the in-memory one, hidden behind remote): the lane, which calls it
// without the lock and batches the work, must keep every promise the
// in-memory path keeps. (Not the price measurements: a throttle takes any
// store but its own for one shared with other processes, whose calls go
// unseen between two answers, and measures no price; see
// TestSharedStoreMeasuresNoPrice.)
func TestLane(t *testing.T) {
	laneMode = true
	defer func() { laneMode = false }()
	for name, test := range map[string]func(*testing.T){
		"LearnsALoweredLimit":                         TestLearnsALoweredLimit,
		"LearnsARaisedLimit":                          TestLearnsARaisedLimit,
		"HiddenWindowHoldsAtLeastTheShownOne":         TestHiddenWindowHoldsAtLeastTheShownOne,
		"LearnsAPriceRise":                            TestLearnsAPriceRise,
		"NothingChangedNothingLearned":                TestNothingChangedNothingLearned,
		"InteractiveCallsGoBeforeAnImport":            TestInteractiveCallsGoBeforeAnImport,
		"ReserveLetsInteractiveCallsGoAtOnce":         TestReserveLetsInteractiveCallsGoAtOnce,
		"ReserveIsReleasedWhenNoInteractiveCallComes": TestReserveIsReleasedWhenNoInteractiveCallComes,
		"BatchIsNotStarved":                           TestBatchIsNotStarved,
		"PriorityOrderWithinTheQueue":                 TestPriorityOrderWithinTheQueue,
		"ResyncChargedLateNeverTrips":                 TestResyncChargedLateNeverTrips,
		"ResyncAnswersOutOfOrderAloneOnTheKey":        TestResyncAnswersOutOfOrderAloneOnTheKey,
		"ResyncAfterAnotherConsumerSpent":             TestResyncAfterAnotherConsumerSpent,
		"ResyncKeepsTheFractionWithinOneToken":        TestResyncKeepsTheFractionWithinOneToken,
		"MemItBurstThenOneEvery12s":                   TestMemItBurstThenOneEvery12s,
		"PlainCallsBurst100ThenOneEvery600ms":         TestPlainCallsBurst100ThenOneEvery600ms,
		"MemItDayWindow":                              TestMemItDayWindow,
		"MixedLoad64GoroutinesForAnHour":              TestMixedLoad64GoroutinesForAnHour,
		"ResyncLowersWhenSomeoneElseSpends":           TestResyncLowersWhenSomeoneElseSpends,
		"ResyncRaisesWhenTheServerHasMore":            TestResyncRaisesWhenTheServerHasMore,
		"MalformedHeadersAreIgnoredAndCounted":        TestMalformedHeadersAreIgnoredAndCounted,
		"RetryAfterPausesEveryCaller":                 TestRetryAfterPausesEveryCaller,
		"Quota429DoesNotPause":                        TestQuota429DoesNotPause,
		"DeadlineFailsFast":                           TestDeadlineFailsFast,
		"CancelledWaitGivesItsPlaceBack":              TestCancelledWaitGivesItsPlaceBack,
		"FIFOMemItNotStarved":                         TestFIFOMemItNotStarved,
		"ColdStartSendsOneProbe":                      TestColdStartSendsOneProbe,
		"ColdStartOnADrainedKey":                      TestColdStartOnADrainedKey,
		"EstimateFromCurrentState":                    TestEstimateFromCurrentState,
		"NoisyNeighbour":                              TestNoisyNeighbour,
		"QueueUnderRandomLoad":                        TestQueueUnderRandomLoad,
		"BackfillAfterColdStart":                      TestBackfillAfterColdStart,
		"BackfillBoundHoldsWhenTheFlightIsFull":       TestBackfillBoundHoldsWhenTheFlightIsFull,
		"HeadFirstHeldByTheFlightStillLetsCallsPass":  TestHeadFirstHeldByTheFlightStillLetsCallsPass,
		"BackfillKeepsBothKindsBusy":                  TestBackfillKeepsBothKindsBusy,
	} {
		t.Run(name, test)
	}
}

// slowStore is a remote store whose every Exchange takes rtt (a network
// round trip), and which counts them.
type slowStore struct {
	remote
	rtt       time.Duration
	exchanges atomic.Int64
	// gate, when set, holds each Exchange until a value comes.
	gate chan struct{}
	// fail, while positive, makes that many Exchanges fail, doing nothing.
	fail atomic.Int64
}

var errUnreachable = errors.New("store out of reach")

func (s *slowStore) Exchange(ctx context.Context, now time.Duration, x *Exchange) error {
	s.exchanges.Add(1)
	time.Sleep(s.rtt)
	if s.gate != nil {
		<-s.gate
	}
	if s.fail.Add(-1) >= 0 {
		for i := range x.Admit.Calls {
			x.Admit.Calls[i].Admitted = false
		}
		x.Admit.Wait, x.Admit.Next = 0, 0
		return errUnreachable
	}
	return s.remote.Exchange(ctx, now, x)
}

func newSlowStore(rtt time.Duration) *slowStore {
	return &slowStore{remote: remote{s: NewMemoryStore(roomyPolicy())}, rtt: rtt}
}

// TestLaneBatchesRoundTrips: with a store 1 ms away, one caller making
// calls one after another costs two round trips a call (its admission, its
// answer), but 16 callers share them: what arrives during a round trip goes
// into the next, so 16 callers make at least 3 times the calls a second.
func TestLaneBatchesRoundTrips(t *testing.T) {
	rate := map[int]float64{}
	perCall := map[int]float64{}
	for _, callers := range []int{1, 16} {
		synctest.Test(t, func(t *testing.T) {
			st := newSlowStore(time.Millisecond)
			th, err := New(roomyPolicy(), WithStore(st))
			require.NoError(t, err)
			const calls = 50
			start := time.Now()
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for range calls {
						tk, err := th.Wait(t.Context(), plain)
						if !assert.NoError(t, err) {
							return
						}
						th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: roomyHeader()})
					}
				})
			}
			wg.Wait()
			n := float64(callers * calls)
			rate[callers] = n / time.Since(start).Seconds()
			perCall[callers] = float64(st.exchanges.Load()) / n
			assert.Equal(t, uint64(callers*calls), th.Snapshot().Stats.Admitted)
			t.Logf("%2d callers: %.0f calls/s, %.2f round trips a call", callers, rate[callers], perCall[callers])
		})
	}
	assert.InDelta(t, 2, perCall[1], 0.1, "alone: an admission and an answer a call")
	assert.Less(t, perCall[16], 0.5)
	assert.GreaterOrEqual(t, rate[16], 3*rate[1])
}

// TestLaneHoldsNoLockDuringExchange: while the store's round trip is under
// way, the throttle's lock is free: Snapshot answers, other callers queue,
// and Done's caller hands its answer over; all of it goes in the next
// exchange.
func TestLaneHoldsNoLockDuringExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newSlowStore(0)
		th, err := New(roomyPolicy(), WithStore(st))
		require.NoError(t, err)
		tk, err := th.Wait(t.Context(), plain) // cold start: the probe
		require.NoError(t, err)

		st.gate = make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: roomyHeader()}) })
		synctest.Wait() // the lane is in the store, with the answer
		require.Equal(t, int64(2), st.exchanges.Load())
		require.True(t, th.mu.TryLock(), "the lock is free during the round trip")
		th.mu.Unlock()
		s := th.Snapshot()
		assert.Equal(t, 0, s.InFlight)
		tickets := make(chan Ticket, 3)
		for range 3 {
			wg.Go(func() {
				tk, err := th.Wait(t.Context(), plain)
				if assert.NoError(t, err) {
					tickets <- tk
				}
			})
		}
		synctest.Wait()
		assert.Equal(t, 3, th.Snapshot().Queued, "queued while the round trip is under way")
		close(st.gate) // every later exchange goes at once
		wg.Wait()
		assert.Equal(t, uint64(4), th.Snapshot().Stats.Admitted)
		assert.Equal(t, int64(3), st.exchanges.Load(), "the three went in one exchange")
		close(tickets)
		for tk := range tickets {
			th.Done(tk, Outcome{})
		}
	})
}

// roomyHeader is a response's rate headers under roomyPolicy, far from any
// limit.
func roomyHeader() http.Header {
	h := http.Header{}
	headers.Status{Requests: headers.WindowState{Window: headers.Minute, Limit: 1_000_000_000, Remaining: 999_000_000}}.Write(h)
	return h
}

// TestLaneCountsStoreErrors: a store that fails admits nothing; the lane
// tries again after answerWait, counts each failure, and tells the hook.
func TestLaneCountsStoreErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newSlowStore(0)
		st.fail.Store(3)
		var hooked atomic.Int64
		th, err := New(roomyPolicy(), WithStore(st), WithHooks(Hooks{OnStoreError: func(err error) {
			assert.ErrorIs(t, err, errUnreachable)
			hooked.Add(1)
		}}))
		require.NoError(t, err)
		start := time.Now()
		tk, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		assert.Equal(t, 3*answerWait, time.Since(start), "tried again every answerWait")
		th.Done(tk, Outcome{})
		s := th.Snapshot()
		assert.Equal(t, uint64(3), s.Stats.StoreErrors)
		assert.Equal(t, int64(3), hooked.Load())
	})
}

// TestLaneGivesBackACancelledCall: a caller that leaves while the exchange
// that admits its call is under way gets nothing, and its tokens go back
// to the store in the next exchange.
func TestLaneGivesBackACancelledCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newSlowStore(0)
		th, err := New(DefaultPolicy(), WithStore(st))
		require.NoError(t, err)
		st.gate = make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := th.Wait(ctx, memIt)
			assert.ErrorIs(t, err, context.Canceled)
		})
		synctest.Wait() // its exchange is under way
		cancel()
		wg.Wait()
		close(st.gate)
		synctest.Wait() // the lane applies the admission, then gives back
		s := th.Snapshot()
		assert.Equal(t, uint64(0), s.Stats.Admitted)
		assert.Equal(t, uint64(1), s.Stats.Cancelled)
		assert.Zero(t, s.InFlight)
		for _, b := range s.Buckets {
			if b.Kind == headers.Complexity {
				assert.Equal(t, float64(b.Limit), b.Level, "%v: the mem-it's 40 came back", b.Bucket)
			}
		}
	})
}

// TestLaneGoesOnPastAFullBatch: more calls that may pass a waiting head
// than one exchange carries queue while the lane is busy; once the first
// batch has passed, the lane goes round again at once for the rest, rather
// than sleeping until the head's tokens are due (40 s).
func TestLaneGoesOnPastAFullBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{Cost: MemCost, Buckets: []Bucket{
			{Kind: headers.Requests, Window: headers.Minute, Limit: 1000, Period: time.Second},
			{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: 200 * time.Second},
		}}
		st := &slowStore{remote: remote{s: NewMemoryStore(p)}}
		drain := Exchange{Answers: []Answer{{Synced: true}}, Admit: Admission{Calls: []Call{{Cost: Cost{Complexity: 200}}}, Room: Cost{Complexity: 200}}}
		require.NoError(t, st.Exchange(t.Context(), 0, &drain))
		require.True(t, drain.Admit.Calls[0].Admitted, "drained: a mem-it waits 40 s")
		th, err := New(p, WithStore(st))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _, _ = th.Wait(ctx, memIt) }()
		synctest.Wait()
		st.gate = make(chan struct{})
		const n = 2*laneBatch + 10
		var admitted atomic.Int64
		for range n {
			go func() {
				if _, err := th.Wait(ctx, Cost{Requests: 1}); err == nil {
					admitted.Add(1) // left in flight
				}
			}()
		}
		synctest.Wait() // queued behind the held exchange
		close(st.gate)
		time.Sleep(time.Second)
		assert.Equal(t, int64(n), admitted.Load(), "every call that fits passed the waiting head within 1 s")
	})
}

// TestLaneFailsAHeadPastItsDeadline: the store reports a pause (another
// process's 429) that ends after the call's deadline: the call fails with
// a *DeadlineError once an exchange reports that wait, not when its
// context ends.
func TestLaneFailsAHeadPastItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newSlowStore(0)
		x := Exchange{Answers: []Answer{{Synced: true, Pause: time.Second}}}
		require.NoError(t, st.Exchange(t.Context(), 0, &x))
		th, err := New(roomyPolicy(), WithStore(st))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = th.Wait(ctx, plain)
		var de *DeadlineError
		require.ErrorAs(t, err, &de)
		assert.Zero(t, time.Since(start), "failed after one exchange, not at the deadline")
		assert.Equal(t, uint64(1), th.Snapshot().Stats.DeadlineFailures)

		// The pause ends the instant the context does: too late to send.
		ctx1, cancel1 := context.WithTimeout(t.Context(), time.Second)
		defer cancel1()
		_, err = th.Wait(ctx1, plain)
		require.ErrorAs(t, err, &de, "a wait that ends at the deadline fails at once")
		assert.Zero(t, time.Since(start))
	})
}

// TestLaneLoneCallerAllocatesOnlyItsRound: a lone caller's Wait and Done
// through a remote store allocate one thing, the start of the lane's
// goroutine; not a list for its answer or a line for its wait each time.
func TestLaneLoneCallerAllocatesOnlyItsRound(t *testing.T) {
	p := DefaultPolicy()
	for i := range p.Buckets { // never short: this measures the calls, not waits
		p.Buckets[i].Limit = 1_000_000_000
	}
	th, err := New(p, WithStore(&remote{s: NewMemoryStore(p)}))
	require.NoError(t, err)
	ctx := context.Background()
	call := func() {
		tk, err := th.Wait(ctx, plain)
		require.NoError(t, err)
		th.Done(tk, Outcome{})
	}
	for range 10 { // the lane's reused buffers grow to size
		call()
	}
	assert.LessOrEqual(t, testing.AllocsPerRun(1000, call), 1.5) // 1, with room for the runtime
}
