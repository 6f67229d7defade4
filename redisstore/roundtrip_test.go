package redisstore_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
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
	s.MarkSynced() // no cold start: no response will end it here
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
	s.MarkSynced()
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
