package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	memItCost = throttle.Cost{Requests: 1, Complexity: 40}
	cheapCost = throttle.Cost{Requests: 1, Complexity: 1}
)

// drainTo leaves level complexity tokens in the key's complexity buckets
// (of 200), through a store of its own, and ends the cold start.
func drainTo(t *testing.T, rs *redisServer, key string, p throttle.Policy, level int64) *redisstore.Store {
	t.Helper()
	d, _ := newStore(t, rs, key, p, 1)
	d.MarkSynced()
	require.Zero(t, d.Take(0, throttle.Cost{Requests: 1, Complexity: 200 - level}, throttle.Cost{}, false))
	return d
}

// Process A's mem-it waits at the head of its throttle for complexity
// tokens, and cheap calls queued behind it pass it (backfill); process B
// sends cheap calls one at a time. Nothing refills during the test (the
// buckets refill over a day), so A's mem-it cannot go, and every cheap call
// B gets through passes it: B's calls must all wait behind A's place in the
// shared queue. Every step is synchronous (a Wait returns when its call was
// admitted, after the backfill's Takes), so the outcome does not depend on
// timing.
func TestBackfillKeepsTheProcessPlaceInTheSharedQueue(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy()
	const key = "backfill-place"
	// A mem-it (40) waits 20 tokens' refill, and may be delayed by as much
	// again by calls passing it: more than the cheap calls of this test.
	drainer := drainTo(t, rs, key, p, 20)
	newThrottle := func() *throttle.Throttle {
		s, _ := newStore(t, rs, key, p, 0.5)
		th, err := throttle.New(p, throttle.WithStore(s))
		require.NoError(t, err)
		return th
	}
	a, b := newThrottle(), newThrottle()

	memIt := make(chan error, 1)
	go func() {
		tk, err := a.Wait(t.Context(), memItCost)
		if err == nil {
			a.Done(tk, throttle.Outcome{})
		}
		memIt <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); a.Snapshot().Queued == 0; {
		require.True(t, time.Now().Before(deadline), "the mem-it never queued")
		time.Sleep(time.Millisecond)
	}

	cancelled, cancel := context.WithCancel(t.Context())
	cancel() // B's calls pass at once or not at all
	const rounds = 10
	var backfilled, overtook int
	for range rounds {
		tk, err := a.Wait(t.Context(), cheapCost) // passes the waiting mem-it
		require.NoError(t, err)
		a.Done(tk, throttle.Outcome{})
		backfilled++
		if tk, err := b.Wait(cancelled, cheapCost); err == nil {
			b.Done(tk, throttle.Outcome{})
			overtook++
		}
	}
	t.Logf("A's cheap calls that passed its waiting mem-it: %d; B's cheap calls that passed it: %d of %d", backfilled, overtook, rounds)
	assert.Equal(t, rounds, backfilled, "A's own cheap calls pass its waiting head (backfill)")
	assert.Zero(t, overtook, "B's cheap calls wait behind A's mem-it")
	select {
	case err := <-memIt:
		t.Fatalf("the mem-it went without its tokens: %v", err)
	default:
	}

	// Once the tokens are there, A's mem-it goes (an arrival wakes it), and
	// its place leaves the shared queue with it: B's call, whose place (taken
	// by its first failed Take, and left when its caller gave up) is next,
	// passes; A's arrival waits behind that place.
	drainer.Give(0, throttle.Cost{Complexity: 40})
	arrival := make(chan error, 1)
	go func() {
		tk, err := a.Wait(t.Context(), cheapCost)
		if err == nil {
			a.Done(tk, throttle.Outcome{})
		}
		arrival <- err
	}()
	select {
	case err := <-memIt:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the mem-it did not go when its tokens were there")
	}
	tk, err := b.Wait(cancelled, cheapCost)
	require.NoError(t, err, "A's place left the shared queue when its mem-it went")
	b.Done(tk, throttle.Outcome{})
	select {
	case err := <-arrival:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("A's cheap call did not go after B's")
	}
}

// perSecondPolicy refills one complexity token a second (200 per 200 s), so
// that waits are whole seconds of the bucket math; request tokens abound.
func perSecondPolicy() throttle.Policy {
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 1000, Period: time.Second},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: 200 * time.Second},
	}
	return p
}

// The Takes a Throttle makes while its head waits, replayed on a store: the
// head's Take, then passing Takes for each later call (which may pass the
// head) and, after one passed, a passing look at the head's wait. The place in the shared queue is the head's throughout:
// another store's call waits for the head's whole cost, not for that of the
// call that tried to pass it.
func TestBackfillTakesKeepThePlaceAndItsCost(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "backfill-cost"
	drainTo(t, rs, key, p, 30)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	const slack = 100 * time.Millisecond // Redis's clock runs on between calls

	now := time.Second
	assert.InDelta(t, 10*time.Second, a.Take(now, memItCost, throttle.Cost{}, false), float64(slack), "the head: 10 tokens short at 1 a second")
	costly := throttle.Cost{Requests: 1, Complexity: 35}
	assert.InDelta(t, 5*time.Second, a.Take(now, costly, throttle.Cost{}, true), float64(slack), "a later call that does not fit either")
	// B waits for A's 40 tokens (10 s), then for its own one (1 s).
	assert.InDelta(t, 11*time.Second, b.Take(now, cheapCost, throttle.Cost{}, false), float64(slack), "B waits for A's head's cost, not the failed call's")

	now += time.Millisecond
	assert.Greater(t, a.Take(now, memItCost, throttle.Cost{}, false), time.Duration(0))
	assert.Zero(t, a.Take(now, cheapCost, throttle.Cost{}, true), "a cheap call passes A's head")
	assert.Greater(t, a.Take(now, memItCost, throttle.Cost{}, true), time.Duration(0), "the head still waits")
	assert.Greater(t, b.Take(now, cheapCost, throttle.Cost{}, false), time.Duration(0), "B is still behind A's head")
	assert.InDelta(t, 12*time.Second, b.Take(now, cheapCost, throttle.Cost{}, false), float64(slack), "one token fewer: the head is 11 s away, then B's call")
}

// When the head's cost changes between two wakes (the head was cancelled
// and the next call leads, or the throttle's drift reserve changed), the
// new head's Take holds the place: it refreshes the place's cost, and its
// success takes the place out of the queue.
func TestANewHeadTakesOverThePlace(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "new-head"
	drainTo(t, rs, key, p, 30)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	const slack = 100 * time.Millisecond

	assert.Greater(t, a.Take(time.Second, memItCost, throttle.Cost{}, false), time.Duration(0), "A's mem-it waits")
	costly := throttle.Cost{Requests: 1, Complexity: 35}
	assert.Greater(t, a.Take(2*time.Second, costly, throttle.Cost{}, false), time.Duration(0), "A's next head waits too")
	assert.InDelta(t, 6*time.Second, b.Take(2*time.Second, cheapCost, throttle.Cost{}, false), float64(slack), "B waits for A's new head (35), then its call")
	assert.Zero(t, a.Take(3*time.Second, throttle.Cost{Requests: 1, Complexity: 20}, throttle.Cost{}, false), "A's next head passes")
	assert.Zero(t, b.Take(3*time.Second, cheapCost, throttle.Cost{}, false), "and A's place left with it")
}

// A passing Take of the same cost as the head's (an interactive mem-it
// passing a batch mem-it that must leave the interactive reserve) leaves
// the head's place ahead of the other process's, and so does the look at
// the head's wait that follows.
func TestAPassAtTheHeadsCostKeepsThePlace(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "same-cost-pass"
	drainTo(t, rs, key, p, 42)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	reserve := throttle.Cost{Requests: 5, Complexity: 5}
	const now = time.Second
	require.NotZero(t, a.Take(now, memItCost, reserve, false), "A's batch head needs 45")
	require.NotZero(t, b.Take(now, memItCost, throttle.Cost{}, false), "B waits behind A's place")
	queue := redisstore.HashTag(key) + ":queue"
	c := rs.Client(t)
	before, err := c.ZRange(t.Context(), queue, 0, -1).Result()
	require.NoError(t, err)
	require.Zero(t, a.Take(now, memItCost, throttle.Cost{}, true), "A's interactive mem-it passes its head")
	a.Take(now, memItCost, reserve, true) // the look at the head's wait
	after, err := c.ZRange(t.Context(), queue, 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, before, after, "A's head keeps its place ahead of B")
}
