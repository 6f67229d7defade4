package redisstore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
