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

// secondPolicy has a request and a complexity bucket that refill in one
// second: 0.1 request token a millisecond.
func secondPolicy() throttle.Policy {
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 100, Period: time.Second},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: time.Second},
	}
	return p
}

var one = throttle.Cost{Requests: 1, Complexity: 1}

// admitN admits n calls of cost one through s in one exchange, as a
// throttle's wake does, and requires that all passed.
func admitN(t *testing.T, s throttle.Store, n int) {
	t.Helper()
	x := &throttle.Exchange{Admit: throttle.Admission{Room: bigRoom, Calls: make([]throttle.Call, n)}}
	for i := range x.Admit.Calls {
		x.Admit.Calls[i].Cost = one
	}
	require.NoError(t, s.Exchange(t.Context(), 0, x))
	for i, c := range x.Admit.Calls {
		require.True(t, c.Admitted, "call %d", i)
	}
}

// answerAll answers, in one exchange, the n calls of cost one that s has in
// flight (as a throttle does: each answer's Inflight counts the calls still
// out, its own included), and returns the level of s's first bucket
// (requests/minute here) after it; s has the buckets of p.
func answerAll(t *testing.T, s throttle.Store, p throttle.Policy, n int) float64 {
	t.Helper()
	x := &throttle.Exchange{Levels: make([]float64, len(p.Buckets))}
	for k := n; k > 0; k-- {
		x.Answers = append(x.Answers, throttle.Answer{Cost: one, Inflight: throttle.Cost{Requests: int64(k), Complexity: int64(k)}})
	}
	require.NoError(t, s.Exchange(t.Context(), 0, x))
	return x.Levels[0]
}

// The opening burst of several processes on a full bucket: three stores
// (three processes) admit 4 calls each, charged in Redis at once, but the
// calls reach the server only 100 ms later (a loaded machine). Until they
// arrive the server's bucket sits full and earns no refill, while Redis's,
// charged at admission, refills 10 tokens. The answers must take that
// refill back: after them Redis may hold no more than the server can,
// 100 - 12 plus the refill since the calls arrived. Holding a bucket to
// the limit less this process's calls in flight only (96) would leave
// Redis 8 tokens above the server, which the next admissions overspend
// (429s at the end of the burst).
//
// Redis refills on its own clock, so the test waits in real time; a longer
// wait (a slow machine) only makes the refill to take back larger, and the
// bound allows for the time the answers themselves took.
func TestAnswersTakeBackTheRefillOfEveryProcesssCallsInFlight(t *testing.T) {
	rs := startRedis(t)
	p := secondPolicy()
	const key = "flight-key"
	var stores [3]*redisstore.Store
	for i := range stores {
		stores[i], _ = newStore(t, rs, key, p, 1.0/3)
	}
	markSynced(t, stores[0])
	for _, s := range stores {
		admitN(t, s, 4)
	}
	time.Sleep(100 * time.Millisecond) // the calls are on their way; the server's bucket is full
	sent := time.Now()                 // they reach the server: 100 - 12
	serverAtMost := func() float64 { return 100 - 12 + 0.1*float64(time.Since(sent).Milliseconds()+1) }

	level := answerAll(t, stores[0], p, 4)
	assert.LessOrEqual(t, level, serverAtMost(), "after the first process's answers")
	level = answerAll(t, stores[1], p, 4)
	assert.LessOrEqual(t, level, serverAtMost(), "after the second's")
	level = answerAll(t, stores[2], p, 4)
	assert.LessOrEqual(t, level, serverAtMost(), "after the third's")
}

// flightEntries returns the record of calls in flight on key: per store,
// its requests and complexity in flight.
func flightEntries(t *testing.T, rs *redisServer, key string) [][2]int64 {
	t.Helper()
	record, err := redisstore.FlightRecord(t.Context(), rs.Client(t), redisstore.HashTag(key))
	require.NoError(t, err)
	var out [][2]int64
	for _, e := range record {
		out = append(out, [2]int64{e[2], e[3]})
	}
	return out
}

// A store records its calls in flight in Redis at each exchange (the
// throttle's in flight after its answers, plus what the exchange admitted)
// and drops its entry when none is left; an entry past its expiry (a
// process that stopped) is dropped and not counted; and the other stores'
// calls hold a bucket down to zero at most.
func TestCallsInFlightAreRecordedAndExpire(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy() // no refill to speak of: levels are exact
	const key = "flight-record-key"
	a, _ := newStore(t, rs, key, p, 0.5)
	b, _ := newStore(t, rs, key, p, 0.5)
	markSynced(t, a)

	admitN(t, a, 3)
	admitN(t, a, 2)
	assert.Equal(t, [][2]int64{{5, 5}}, flightEntries(t, rs, key), "a's 5 calls")
	x := &throttle.Exchange{Answers: []throttle.Answer{{Cost: one, Inflight: throttle.Cost{Requests: 5, Complexity: 5}}}}
	require.NoError(t, a.Exchange(t.Context(), 0, x))
	assert.Equal(t, [][2]int64{{4, 4}}, flightEntries(t, rs, key), "one answered")
	require.NoError(t, a.Exchange(t.Context(), 0, &throttle.Exchange{Give: one}))
	assert.Equal(t, [][2]int64{{3, 3}}, flightEntries(t, rs, key), "one given back (its caller went)")
	assert.InDelta(t, 96, answerAll(t, a, p, 3), 0.01, "5 charged, 1 given back")
	assert.Empty(t, flightEntries(t, rs, key), "none left: the entry is dropped")

	// Two entries written by other processes: one that expired (its
	// process stopped a while ago) and one current.
	c := rs.Client(t)
	tm, err := c.Time(t.Context()).Result()
	require.NoError(t, err)
	nowUS := tm.UnixMicro()
	tag := redisstore.HashTag(key)
	require.NoError(t, redisstore.SetFlightEntry(t.Context(), c, tag, 111, nowUS-1, 50, 50))
	require.NoError(t, redisstore.SetFlightEntry(t.Context(), c, tag, 222, nowUS+int64(time.Hour/time.Microsecond), 10, 10))
	admitN(t, b, 1) // 95
	assert.InDelta(t, 89, answerAll(t, b, p, 1), 0.01, "held to 100 - 1 - 10: the live entry counts, the expired one does not")
	assert.Equal(t, [][2]int64{{10, 10}}, flightEntries(t, rs, key), "the expired entry is dropped")

	require.NoError(t, redisstore.SetFlightEntry(t.Context(), c, tag, 222, nowUS+int64(time.Hour/time.Microsecond), 500, 500))
	admitN(t, b, 1) // 88
	assert.InDelta(t, 0, answerAll(t, b, p, 1), 0.01, "more in flight than the bucket holds: held down to zero, no lower")
}
