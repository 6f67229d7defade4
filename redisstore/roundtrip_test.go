package redisstore_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
)

// TestReservationWithHeadroomIsOneRoundTrip: a call that must leave a
// reserve (here the interactive reserve, for a batch call) asks Redis once:
// the headroom goes with the reservation instead of being taken and given
// back.
func TestReservationWithHeadroomIsOneRoundTrip(t *testing.T) {
	rs := startRedis(t)
	p := throttle.DefaultPolicy()
	s, _ := newStore(t, rs, "headroom-"+t.Name(), p, 0.5)
	markSynced(t, s) // no cold start: no response will end it here
	th, err := throttle.New(p, throttle.WithStore(s), throttle.WithReserve(throttle.Cost{Requests: 5, Complexity: 5}, 1<<62))
	require.NoError(t, err)
	batch := throttle.WithPriority(t.Context(), throttle.Batch)
	before := s.Stats().Calls
	const n = 10
	for range n {
		_, err := th.Wait(batch, throttle.Cost{Requests: 1, Complexity: 1})
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(n), s.Stats().Calls-before, "one round trip per reservation")
	for _, b := range levels(s) {
		assert.GreaterOrEqual(t, b, 0.0)
	}
	assert.InDelta(t, 90, levels(s)["requests/minute"], 0.1, "charged the cost only")
}

// TestAnswerIsOneRoundTrip: a response with both kinds' rate headers is
// one Redis call (the call leaving flight, both readings, the synced flag),
// and so is a 429 with its pause; the readings still lower the shared level.
func TestAnswerIsOneRoundTrip(t *testing.T) {
	rs := startRedis(t)
	p := throttle.DefaultPolicy()
	s, _ := newStore(t, rs, "answer-"+t.Name(), p, 0.5)
	markSynced(t, s)
	th, err := throttle.New(p, throttle.WithStore(s))
	require.NoError(t, err)
	h := http.Header{}
	headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 50},
		Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 120},
	}.Write(h)
	for _, status := range []int{http.StatusOK, http.StatusTooManyRequests} {
		tk, err := th.Wait(t.Context(), throttle.Cost{Requests: 1, Complexity: 1})
		require.NoError(t, err)
		before := s.Stats().Calls
		h.Set("Retry-After", "1")
		th.Done(tk, throttle.Outcome{Responded: true, StatusCode: status, Header: h})
		assert.Equal(t, uint64(1), s.Stats().Calls-before, "one round trip for the answer (%d)", status)
	}
	l := levels(s)
	assert.LessOrEqual(t, l["requests/minute"], 51.0, "lowered to what the server said")
	assert.LessOrEqual(t, l["complexity/minute"], 121.0)
	assert.Equal(t, uint64(1), th.Snapshot().Stats.Pauses)
}

// TestExchangeIsOneRoundTrip: an exchange is one Redis call whatever it
// carries (here three answers, a give and five calls), and does each part
// in order: the answers lower the levels (a reading that could only raise
// is not applied, one of a bucket the policy lacks is not found), the give
// returns tokens, and the calls are charged.
func TestExchangeIsOneRoundTrip(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy() // requests/minute, requests/day, complexity/minute, complexity/day
	s, _ := newStore(t, rs, "exchange-"+t.Name(), p, 0.5)
	markSynced(t, s)
	one := throttle.Cost{Requests: 1, Complexity: 1}
	reading := func(k headers.Kind, w headers.Window, floor, ceil int64) throttle.BucketReading {
		return throttle.BucketReading{Kind: k, Window: w, Reading: throttle.Reading{Floor: floor, Ceil: ceil}}
	}
	answer := func(rs ...throttle.BucketReading) throttle.Answer {
		return throttle.Answer{Cost: one, Inflight: one, Readings: rs, Moved: make([]throttle.Moved, len(rs)), Synced: true}
	}
	x := &throttle.Exchange{
		Answers: []throttle.Answer{
			answer(reading(headers.Requests, headers.Minute, 50, 51), reading(headers.Requests, headers.Day, 10, math.MaxInt64)),
			answer(reading(headers.Requests, headers.Minute, 40, 41), reading(headers.Requests, headers.Window("hour"), 1, 2)),
			answer(reading(headers.Complexity, headers.Minute, 150, 151)),
		},
		Give:   one,
		Admit:  throttle.Admission{Room: bigRoom},
		Levels: make([]float64, len(p.Buckets)),
	}
	for range 5 {
		x.Admit.Calls = append(x.Admit.Calls, throttle.Call{Cost: one})
	}
	before := s.Stats().Calls
	require.NoError(t, s.Exchange(t.Context(), 0, x))
	assert.Equal(t, uint64(1), s.Stats().Calls-before, "one round trip")

	const d = 0.01 // the refill over the test: 100 or 200 tokens a day
	m := x.Answers[0].Moved
	assert.InDelta(t, 99, m[0].Before, d, "held to the limit less the call in flight")
	assert.InDelta(t, 50, m[0].After, d)
	assert.Equal(t, throttle.Moved{Found: true}, m[1], "a reading that could only raise is not sent")
	m = x.Answers[1].Moved
	assert.InDelta(t, 50, m[0].Before, d)
	assert.InDelta(t, 40, m[0].After, d)
	assert.False(t, m[1].Found, "no such bucket")
	assert.InDelta(t, 150, x.Answers[2].Moved[0].After, d)
	for i, c := range x.Admit.Calls {
		assert.True(t, c.Admitted, "call %d", i)
	}
	assert.True(t, x.Synced)
	// The answers, then the give (+1), then five calls (-5).
	assert.InDeltaSlice(t, []float64{36, 3995, 146, 7995}, x.Levels, d)
	assert.InDelta(t, 36, levels(s)["requests/minute"], d, "as Redis holds them")
}

// TestAWholeWakeIsOneRoundTrip: 200 callers queued behind a waiting mem-it
// (complexity tokens are short; these calls need only request tokens, so
// they may pass it) are admitted a batch per round trip, not a round trip
// per call, and their answers ride along. The lane's first exchange is
// held in Redis until all of them have queued, so that the batching does
// not depend on timing.
func TestAWholeWakeIsOneRoundTrip(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy() // 1000 request tokens a second; complexity 1 a second
	const key = "whole-wake"
	drainTo(t, rs, key, p, 0)
	g := &gatedClient{Scripter: rs.Client(t)}
	s, err := redisstore.New(g, key, p, redisstore.Options{Share: 0.5, Timeout: 5 * time.Second})
	require.NoError(t, err)
	th, err := throttle.New(p, throttle.WithStore(s))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	held, release := g.arm()
	memIt := make(chan error, 1)
	go func() {
		_, err := th.Wait(ctx, memItCost) // 40 s away: cancelled at the end
		memIt <- err
	}()
	<-held
	const n = 200
	request := throttle.Cost{Requests: 1}
	done := make(chan error, n)
	for range n {
		go func() {
			tk, err := th.Wait(ctx, request)
			if err == nil {
				th.Done(tk, throttle.Outcome{})
			}
			done <- err
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); th.Snapshot().Queued < n+1; {
		require.True(t, time.Now().Before(deadline), "the callers never queued")
		time.Sleep(time.Millisecond)
	}
	before := s.Stats().Calls
	close(release)
	for range n {
		require.NoError(t, <-done)
	}
	trips := s.Stats().Calls - before
	st := th.Snapshot().Stats
	t.Logf("%d calls admitted past the waiting mem-it and answered in %d round trips", st.Backfilled, trips)
	assert.Equal(t, uint64(n), st.Backfilled, "every call passed the waiting head")
	assert.LessOrEqual(t, trips, uint64(n/20), "at most one round trip per wake and per batch of answers")
	cancel()
	assert.ErrorIs(t, <-memIt, context.Canceled)
}

// TestSnapshotDoesNotWaitForARoundTrip: while an exchange is held in Redis,
// Snapshot and Estimate still answer (with a round trip of their own),
// and the call waiting for that exchange is still waiting.
func TestSnapshotDoesNotWaitForARoundTrip(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy()
	g := &gatedClient{Scripter: rs.Client(t)}
	s, err := redisstore.New(g, "snapshot-"+t.Name(), p, redisstore.Options{Share: 0.5, Timeout: 5 * time.Second})
	require.NoError(t, err)
	markSynced(t, s)
	th, err := throttle.New(p, throttle.WithStore(s))
	require.NoError(t, err)

	held, release := g.arm()
	admitted := make(chan error, 1)
	go func() {
		tk, err := th.Wait(t.Context(), cheapCost)
		if err == nil {
			th.Done(tk, throttle.Outcome{})
		}
		admitted <- err
	}()
	<-held
	answered := make(chan throttle.Snapshot, 1)
	go func() {
		th.Estimate(throttle.Calls{N: 1, Cost: cheapCost})
		answered <- th.Snapshot()
	}()
	select {
	case snap := <-answered:
		assert.Equal(t, 1, snap.Queued, "the call still waits for its exchange")
		assert.InDelta(t, 100, snap.Buckets[0].Level, 0.01, "read from Redis")
	case <-time.After(5 * time.Second):
		t.Fatal("Snapshot waited for the exchange held in Redis")
	}
	select {
	case err := <-admitted:
		t.Fatalf("the call was admitted while its exchange was held: %v", err)
	default:
	}
	close(release)
	require.NoError(t, <-admitted)
}
