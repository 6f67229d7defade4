package redisstore_test

import (
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
	markSynced(t, d)
	require.Zero(t, take(t, d, 0, throttle.Cost{Requests: 1, Complexity: 200 - level}, throttle.Cost{}))
	return d
}

// Process A's mem-it waits at the head of its throttle for complexity
// tokens, and cheap calls queued behind it pass it (backfill); process B
// sends cheap calls one at a time, each tried once, as B's throttle does
// for a lone caller (one exchange with one call). Nothing refills during
// the test (the buckets refill over a day), so A's mem-it cannot go, and
// every cheap call B gets through passes it: B's calls must all wait
// behind A's place in the shared queue. Every step is synchronous (a Wait
// returns when its call was admitted, by the exchange that let it pass),
// so the outcome does not depend on timing.
func TestBackfillKeepsTheProcessPlaceInTheSharedQueue(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy()
	const key = "backfill-place"
	// A mem-it (40) waits 20 tokens' refill, and may be delayed by as much
	// again by calls passing it: more than the cheap calls of this test.
	drainer := drainTo(t, rs, key, p, 20)
	aStore, _ := newStore(t, rs, key, p, 0.5)
	a, err := throttle.New(p, throttle.WithStore(aStore))
	require.NoError(t, err)
	b, _ := newStore(t, rs, key, p, 0.5)

	memIt := make(chan error, 1)
	go func() {
		tk, err := a.Wait(t.Context(), memItCost)
		if err == nil {
			a.Done(tk, throttle.Outcome{})
		}
		memIt <- err
	}()
	queue := redisstore.HashTag(key) + ":queue"
	for deadline := time.Now().Add(5 * time.Second); rs.Client(t).ZCard(t.Context(), queue).Val() == 0; {
		require.True(t, time.Now().Before(deadline), "the mem-it never took a place in the shared queue")
		time.Sleep(time.Millisecond)
	}

	const rounds = 10
	var backfilled, overtook int
	for range rounds {
		tk, err := a.Wait(t.Context(), cheapCost) // passes the waiting mem-it
		require.NoError(t, err)
		a.Done(tk, throttle.Outcome{})
		backfilled++
		if take(t, b, 0, cheapCost, throttle.Cost{}) == 0 {
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
	// by its first exchange that could not admit it) is next, passes; A's
	// arrival waits behind that place.
	give(t, drainer, throttle.Cost{Complexity: 40})
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
	require.Zero(t, take(t, b, 0, cheapCost, throttle.Cost{}), "A's place left the shared queue when its mem-it went")
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

// exchange runs one admission of calls through s, as a Throttle's lane
// does, with latest as the head's bound, and returns it with its results.
func exchange(t *testing.T, s throttle.Store, now, latest time.Duration, calls ...throttle.Call) throttle.Admission {
	t.Helper()
	x := &throttle.Exchange{Admit: throttle.Admission{Calls: calls, Room: bigRoom, Latest: latest}}
	require.NoError(t, s.Exchange(t.Context(), now, x))
	return x.Admit
}

// The admissions a Throttle's lane makes while its head waits, replayed on
// a store: each has the head first, then later calls that may pass it
// within the head's bound. The place in the shared queue is the head's
// throughout: another store's call waits for the head's whole cost, not
// for that of a call that tried to pass it.
func TestPassingCallsKeepThePlaceAndItsCost(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "backfill-cost"
	drainTo(t, rs, key, p, 30)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	const slack = 100 * time.Millisecond // Redis's clock runs on between calls
	costly := throttle.Cost{Requests: 1, Complexity: 35}

	now := time.Second
	adm := exchange(t, a, now, 0, throttle.Call{Cost: memItCost}, throttle.Call{Cost: costly, Line: 1})
	assert.False(t, adm.Calls[0].Admitted || adm.Calls[1].Admitted)
	assert.InDelta(t, 10*time.Second, adm.Wait, float64(slack), "the head: 10 tokens short at 1 a second")
	assert.InDelta(t, 5*time.Second, adm.Next, float64(slack), "a later call that does not fit either")
	assert.InDelta(t, now+20*time.Second, adm.Latest, float64(slack), "the head's bound: twice its wait")
	// B waits for A's 40 tokens (10 s), then for its own one (1 s).
	assert.InDelta(t, 11*time.Second, take(t, b, now, cheapCost, throttle.Cost{}), float64(slack), "B waits for A's head's cost, not the failed call's")

	now += time.Millisecond
	latest := adm.Latest
	adm = exchange(t, a, now, latest, throttle.Call{Cost: memItCost}, throttle.Call{Cost: cheapCost, Line: 1}, throttle.Call{Cost: cheapCost, Line: 1})
	assert.Equal(t, []bool{false, true, true}, admitted(adm), "cheap calls pass A's head, which still waits")
	assert.Equal(t, latest, adm.Latest, "the head's bound is kept")
	assert.Greater(t, take(t, b, now, cheapCost, throttle.Cost{}), time.Duration(0), "B is still behind A's head")
	assert.InDelta(t, 13*time.Second, take(t, b, now, cheapCost, throttle.Cost{}), float64(slack), "two tokens fewer: the head is 12 s away, then B's call")
}

// admitted lists which calls of an admission were admitted.
func admitted(a throttle.Admission) []bool {
	var out []bool
	for _, c := range a.Calls {
		out = append(out, c.Admitted)
	}
	return out
}

// A call may pass the head only while the head is still admitted by its
// bound: the first that would delay it past the bound is not admitted,
// and nor is any call after it; its tokens are not charged.
func TestPassingStopsAtTheHeadsBound(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "bound"
	drainTo(t, rs, key, p, 37)
	a, _ := newStore(t, rs, key, p, 0.5)
	two := throttle.Cost{Requests: 1, Complexity: 2}
	calls := []throttle.Call{{Cost: memItCost}} // 3 tokens short: waits 3 s, bound 6 s
	for range 3 {
		calls = append(calls, throttle.Call{Cost: two, Line: 1})
	}
	calls = append(calls, throttle.Call{Cost: cheapCost, Line: 2})
	adm := exchange(t, a, time.Second, 0, calls...)
	// The first call of 2 delays the head to 5 s; the second would push it
	// to 7 s: it is given back, and nothing after it is tried.
	assert.Equal(t, []bool{false, true, false, false, false}, admitted(adm))
	assert.InDelta(t, 35, levels(a)["complexity/minute"], 0.05, "only the call admitted was charged")
}

// A head admitted gives its place up, and the next call is the new head:
// it queues anew, behind the places taken meanwhile; a head that Room
// cannot hold ends the admission, and nothing passes it.
func TestAdmittedHeadGivesThePlaceUp(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "next-head"
	drainTo(t, rs, key, p, 30)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	const slack = 100 * time.Millisecond
	require.NotZero(t, take(t, a, time.Second, memItCost, throttle.Cost{}), "A's mem-it waits (10 tokens)")
	require.NotZero(t, take(t, b, time.Second, cheapCost, throttle.Cost{}), "B waits behind A's place")
	give(t, a, throttle.Cost{Complexity: 10})
	adm := exchange(t, a, 2*time.Second, 0, throttle.Call{Cost: memItCost}, throttle.Call{Cost: cheapCost, Line: 1})
	assert.Equal(t, []bool{true, false}, admitted(adm), "A's head goes; its next call is behind B's place")
	assert.InDelta(t, 2*time.Second, adm.Wait, float64(slack), "B's 1 token, then its own")
	assert.Zero(t, take(t, b, 2*time.Second, throttle.Cost{Requests: 1}, throttle.Cost{}), "B is first now")

	x := &throttle.Exchange{Admit: throttle.Admission{
		Calls: []throttle.Call{{Cost: memItCost}, {Cost: cheapCost, Line: 1}},
		Room:  throttle.Cost{Requests: 100, Complexity: 30},
	}}
	require.NoError(t, a.Exchange(t.Context(), 3*time.Second, x))
	assert.True(t, x.Admit.RoomShort, "the head does not fit in the room")
	assert.Equal(t, []bool{false, false}, admitted(x.Admit), "and nothing passes it")
	assert.Zero(t, x.Admit.Wait)
}

// When the head's cost changes between two wakes (the head was cancelled
// and the next call leads, or the throttle's drift reserve changed), the
// new head holds the place: it refreshes the place's cost, and its
// admission takes the place out of the queue.
func TestANewHeadTakesOverThePlace(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "new-head"
	drainTo(t, rs, key, p, 30)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	const slack = 100 * time.Millisecond

	assert.Greater(t, take(t, a, time.Second, memItCost, throttle.Cost{}), time.Duration(0), "A's mem-it waits")
	costly := throttle.Cost{Requests: 1, Complexity: 35}
	assert.Greater(t, take(t, a, 2*time.Second, costly, throttle.Cost{}), time.Duration(0), "A's next head waits too")
	assert.InDelta(t, 6*time.Second, take(t, b, 2*time.Second, cheapCost, throttle.Cost{}), float64(slack), "B waits for A's new head (35), then its call")
	assert.Zero(t, take(t, a, 3*time.Second, throttle.Cost{Requests: 1, Complexity: 20}, throttle.Cost{}), "A's next head passes")
	assert.Zero(t, take(t, b, 3*time.Second, cheapCost, throttle.Cost{}), "and A's place left with it")
}

// A call of the same cost as the head's that passes it (an interactive
// mem-it passing a batch mem-it that must leave the interactive reserve)
// leaves the head's place ahead of the other process's.
func TestAPassAtTheHeadsCostKeepsThePlace(t *testing.T) {
	rs := startRedis(t)
	p := perSecondPolicy()
	const key = "same-cost-pass"
	drainTo(t, rs, key, p, 42)
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	reserve := throttle.Cost{Requests: 5, Complexity: 5}
	const now = time.Second
	require.NotZero(t, take(t, a, now, memItCost, reserve), "A's batch head needs 45")
	require.NotZero(t, take(t, b, now, memItCost, throttle.Cost{}), "B waits behind A's place")
	queue := redisstore.HashTag(key) + ":queue"
	c := rs.Client(t)
	before, err := c.ZRange(t.Context(), queue, 0, -1).Result()
	require.NoError(t, err)
	// The head's bound, from an earlier wake, leaves room for the pass.
	adm := exchange(t, a, now, now+time.Hour, throttle.Call{Cost: memItCost, Headroom: reserve}, throttle.Call{Cost: memItCost, Line: 1})
	require.Equal(t, []bool{false, true}, admitted(adm), "A's interactive mem-it passes its head")
	after, err := c.ZRange(t.Context(), queue, 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, before, after, "A's head keeps its place ahead of B")
}
