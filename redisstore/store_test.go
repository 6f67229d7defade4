package redisstore_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowPolicy has small buckets that refill so slowly that a test of a few
// seconds sees no refill worth a token.
func slowPolicy() throttle.Policy {
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 100, Period: 24 * time.Hour},
		{Kind: headers.Requests, Window: headers.Day, Limit: 4000, Period: 24 * time.Hour},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: 24 * time.Hour},
		{Kind: headers.Complexity, Window: headers.Day, Limit: 8000, Period: 24 * time.Hour},
	}
	return p
}

func newStore(t testing.TB, rs *redisServer, key string, p throttle.Policy, share float64) (*redisstore.Store, *countingHandler) {
	t.Helper()
	h := &countingHandler{}
	s, err := redisstore.New(rs.Client(t), key, p, redisstore.Options{Share: share, Logger: slog.New(h)})
	require.NoError(t, err)
	return s, h
}

func levels(s throttle.Store) map[string]float64 {
	st, _ := s.State(context.Background(), 0)
	out := map[string]float64{}
	for _, b := range st.Buckets {
		out[b.Kind.String()+"/"+string(b.Window)] = b.Level
	}
	return out
}

// 64 stores (as 64 processes would hold) reserve concurrently on one key:
// the script is atomic and all or nothing, so exactly ⌊200/3⌋ = 66 calls of
// cost (1 request, 3 complexity) pass, and the levels are exact.
func TestTakeIsAtomicUnder64ConcurrentReservers(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy()
	cost := throttle.Cost{Requests: 1, Complexity: 3}
	var passed atomic.Int64
	var wg sync.WaitGroup
	// The 64 stores share one client (and its pool), and a timeout generous
	// enough for 64 connections opening at once under the race detector:
	// this test is about the script, not about the fallback.
	client := rs.Client(t)
	stores := make([]*redisstore.Store, 64)
	for i := range stores {
		var err error
		stores[i], err = redisstore.New(client, "atomic-key", p, redisstore.Options{Share: 1.0 / 64, Timeout: 5 * time.Second})
		require.NoError(t, err)
	}
	created := time.Now()
	markSynced(t, stores[0]) // end the cold start, which lets one call at a time through
	start := make(chan struct{})
	for _, s := range stores {
		wg.Go(func() {
			<-start
			for {
				wait, err := admitOne(s, 0, cost, throttle.Cost{})
				if err != nil {
					t.Error(err)
					return
				}
				if wait > 0 {
					return
				}
				passed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.EqualValues(t, 66, passed.Load(), "exactly the calls that fit")
	lv := levels(stores[0])
	// Exact, but for the refill since the key was made (each limit a day;
	// under load that can pass 0.2 s, a hundredth of a day token).
	days := time.Since(created).Hours() / 24
	for _, c := range []struct {
		bucket       string
		limit, level float64
	}{
		{"requests/minute", 100, 100 - 66},
		{"complexity/minute", 200, 200 - 66*3},
		{"requests/day", 4000, 4000 - 66},
	} {
		assert.GreaterOrEqual(t, lv[c.bucket], c.level, c.bucket)
		assert.LessOrEqual(t, lv[c.bucket], c.level+c.limit*days+1e-9, c.bucket)
	}
	for _, s := range stores {
		st := s.Stats()
		assert.True(t, st.OnRedis)
		assert.Zero(t, st.Errors)
	}
}

// keyContents returns everything key k holds, as text: a string's value, a
// hash's fields and values, a sorted set's members.
func keyContents(t *testing.T, c *redis.Client, k string) string {
	t.Helper()
	typ, err := c.Type(t.Context(), k).Result()
	require.NoError(t, err)
	var parts []string
	switch typ {
	case "string":
		v, err := c.Get(t.Context(), k).Result()
		require.NoError(t, err)
		parts = append(parts, v)
	case "hash":
		vals, err := c.HGetAll(t.Context(), k).Result()
		require.NoError(t, err)
		for f, v := range vals {
			parts = append(parts, f, v)
		}
	case "zset":
		members, err := c.ZRange(t.Context(), k, 0, -1).Result()
		require.NoError(t, err)
		parts = members
	default:
		t.Fatalf("key %s has an unexpected type %s", k, typ)
	}
	require.NotEmpty(t, parts, k)
	return strings.Join(parts, " ")
}

func TestKeysCarryOnlyAHashOfTheAPIKey(t *testing.T) {
	rs := startRedis(t)
	const apiKey = "sk-very-secret-api-key"
	s, _ := newStore(t, rs, apiKey, slowPolicy(), 1)
	require.Zero(t, take(t, s, 0, throttle.Cost{Requests: 1, Complexity: 1}, throttle.Cost{}))
	keys, err := rs.Client(t).Keys(t.Context(), "*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	tag := redisstore.HashTag(apiKey)
	assert.Regexp(t, `^\{mem:[0-9a-f]{16}\}$`, tag)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, tag+":"), k)
		assert.NotContains(t, k, apiKey)
		assert.NotContains(t, keyContents(t, rs.Client(t), k), apiKey)
	}
}

// A mem-it (40 complexity tokens) waiting in one process is not starved by
// a stream of cost-1 calls from another: the shared queue serves it first.
func TestSharedQueueServesACostlyCallBeforeLaterCheapOnes(t *testing.T) {
	rs := startRedis(t)
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 1000, Period: time.Second},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: 2 * time.Second}, // 100 a second
	}
	newThrottle := func() *throttle.Throttle {
		s, _ := newStore(t, rs, "fifo-key", p, 0.5)
		markSynced(t, s) // end the cold start (no response will here)
		th, err := throttle.New(p, throttle.WithStore(s))
		require.NoError(t, err)
		return th
	}
	memIt, cheap := throttle.Cost{Requests: 1, Complexity: 40}, throttle.Cost{Requests: 1, Complexity: 1}
	a, b := newThrottle(), newThrottle()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cheapCalls atomic.Int64
	var wg sync.WaitGroup
	for range 4 { // drain and keep draining, 1 token at a time
		wg.Go(func() {
			for ctx.Err() == nil {
				tk, err := b.Wait(ctx, cheap)
				if err != nil {
					return
				}
				cheapCalls.Add(1)
				b.Done(tk, throttle.Outcome{})
			}
		})
	}
	for deadline := time.Now().Add(5 * time.Second); cheapCalls.Load() < 200; { // then the bucket is empty
		require.True(t, time.Now().Before(deadline), "the cheap calls stalled at %d", cheapCalls.Load())
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	before := cheapCalls.Load()
	tk, err := a.Wait(t.Context(), memIt)
	require.NoError(t, err)
	waited := time.Since(start)
	during := cheapCalls.Load() - before
	a.Done(tk, throttle.Outcome{})
	resumed := func() int64 { return cheapCalls.Load() - before - during }
	// Real time, so a loaded machine may be slow: wait for the cheap calls
	// to resume rather than count them in a fixed window.
	for deadline := time.Now().Add(5 * time.Second); resumed() <= 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	after := resumed()
	cancel()
	wg.Wait()
	t.Logf("mem-it waited %s; %d cheap calls meanwhile; then %d resumed", waited, during, after)
	assert.Less(t, waited, 900*time.Millisecond, "40 tokens at 100 a second, plus those already queued")
	assert.LessOrEqual(t, during, int64(10), "cheap calls queued behind the mem-it wait")
	assert.Greater(t, after, int64(3), "cheap calls resume after it")
}

func header(k headers.Kind, remaining int64) http.Header {
	h := http.Header{}
	ws := headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: remaining}
	st := headers.Status{}
	if k == headers.Requests {
		st.Requests = ws
	} else {
		st.Complexity = ws
	}
	st.Write(h)
	return h
}

// One throttle's resync, 429 pause and end of cold start reach the other.
func TestResyncPauseAndColdStartAreShared(t *testing.T) {
	rs := startRedis(t)
	p := slowPolicy()
	s1, _ := newStore(t, rs, "shared-key", p, 0.5)
	s2, _ := newStore(t, rs, "shared-key", p, 0.5)
	t1, err := throttle.New(p, throttle.WithStore(s1))
	require.NoError(t, err)
	t2, err := throttle.New(p, throttle.WithStore(s2))
	require.NoError(t, err)
	plain := throttle.Cost{Requests: 1, Complexity: 1}

	assert.True(t, t2.Snapshot().Probing, "a fresh key is in cold start")
	tk, err := t1.Wait(t.Context(), plain)
	require.NoError(t, err)
	t1.Done(tk, throttle.Outcome{Responded: true, StatusCode: 200, Header: header(headers.Requests, 10)})
	assert.False(t, t2.Snapshot().Probing, "t1's response ended the cold start for t2 too")
	assert.InDelta(t, 10, level(t2, headers.Requests, headers.Minute), 0.01, "t1's resync is t2's level")

	// A resync to a higher level does not raise the shared level.
	tk, err = t2.Wait(t.Context(), plain)
	require.NoError(t, err)
	assert.InDelta(t, 9, level(t1, headers.Requests, headers.Minute), 0.01)
	t2.Done(tk, throttle.Outcome{Responded: true, StatusCode: 200, Header: header(headers.Requests, 50)})
	assert.InDelta(t, 9, level(t1, headers.Requests, headers.Minute), 0.01, "shared levels are only lowered")

	// A 429 to t1 pauses t2.
	tk, err = t1.Wait(t.Context(), plain)
	require.NoError(t, err)
	h := header(headers.Requests, 0)
	headers.SetRetryAfter(h, time.Second)
	t1.Done(tk, throttle.Outcome{Responded: true, StatusCode: http.StatusTooManyRequests, Header: h})
	snap := t2.Snapshot()
	assert.WithinDuration(t, time.Now().Add(time.Second), snap.PausedUntil, 100*time.Millisecond, "t2 sees t1's pause")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = t2.Wait(ctx, plain)
	// A *DeadlineError at once if t2 already knew the pause, else the
	// deadline's own error once the exchange has told it.
	assert.ErrorIs(t, err, context.DeadlineExceeded, "t2 is paused past a 300 ms deadline")

	// After the pause, t2 passes, from the level t1's 429 set (0 + the call given back).
	start := time.Now()
	give(t, s1, plain) // hand one token to the shared level so t2 can pass
	tk, err = t2.Wait(t.Context(), plain)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "held by the pause")
	t2.Done(tk, throttle.Outcome{})
}

func level(th *throttle.Throttle, k headers.Kind, w headers.Window) float64 {
	for _, b := range th.Snapshot().Buckets {
		if b.Kind == k && b.Window == w {
			return b.Level
		}
	}
	return -1e9
}

// With Redis gone, the store answers from a local budget of Share of each
// limit, starting from Share of the last levels seen, within the timeout,
// logs once, and returns to Redis when Redis answers again.
func TestFallbackAndReturn(t *testing.T) {
	rs := startRedis(t)
	p := throttle.DefaultPolicy()
	p.Buckets = []throttle.Bucket{
		{Kind: headers.Requests, Window: headers.Minute, Limit: 100, Period: time.Second},
		{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: time.Second},
	}
	h := &countingHandler{}
	s, err := redisstore.New(rs.Client(t), "fallback-key", p, redisstore.Options{Share: 0.25, Logger: slog.New(h), ProbeInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	th, err := throttle.New(p, throttle.WithStore(s))
	require.NoError(t, err)
	plain := throttle.Cost{Requests: 1, Complexity: 1}
	tk, err := th.Wait(t.Context(), plain)
	require.NoError(t, err)
	th.Done(tk, throttle.Outcome{Responded: true, StatusCode: 200, Header: header(headers.Requests, 99)})

	rs.Kill()
	start := time.Now()
	n := 0
	for time.Since(start) < time.Second {
		tk, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(tk, throttle.Outcome{}) // no headers: nothing raises the local budget
		n++
	}
	st := s.Stats()
	assert.False(t, st.OnRedis)
	assert.EqualValues(t, 1, st.Fallbacks)
	// A quarter of the 99 tokens the last reservation saw (24), then a
	// quarter of 100 a second: about 49 in the second, and never more.
	t.Logf("%d calls in 1 s of fallback at share 1/4 of 100/s; %d failed Redis calls", n, st.Errors)
	assert.LessOrEqual(t, n, 24+26)
	assert.GreaterOrEqual(t, n, 40)
	assert.Equal(t, []string{"WARN redisstore: Redis is out of reach; spending a local share of the budget until it answers"}, h.Lines())

	rs.Start()
	time.Sleep(250 * time.Millisecond) // one probe interval
	call := func() {
		tk, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(tk, throttle.Outcome{Responded: true, StatusCode: 200, Header: header(headers.Requests, 99)})
	}
	call() // the probe: Redis answers, and a recovery window opens
	assert.False(t, s.Stats().OnRedis, "still on the local budget during the recovery window")
	other, _ := newStore(t, rs, "fallback-key", p, 0.25)
	assert.Greater(t, take(t, other, 0, plain, throttle.Cost{}), time.Duration(0), "nobody reserves from Redis during the window")
	start = time.Now()
	for !s.Stats().OnRedis && time.Since(start) < 2*time.Second {
		call()
	}
	st = s.Stats()
	assert.True(t, st.OnRedis)
	assert.EqualValues(t, 1, st.Returns)
	// The window is ProbeInterval + 3 × Timeout; go-redis itself may refuse
	// to dial for up to a second after repeated dial errors.
	assert.Less(t, time.Since(start), 2500*time.Millisecond)
	lines := h.Lines()
	require.Len(t, lines, 2)
	assert.Equal(t, "INFO redisstore: back to the shared budget in Redis", lines[1])
}

// Nothing waits on a Redis that does not answer: every call returns within
// the timeout (here the server is stopped with SIGSTOP, so connections
// hang), whether the client puts the deadline on its connection (the call
// runs directly), ignores it (ContextTimeoutEnabled off: the call runs on
// a goroutine of its own) or offers only the Scripter methods.
func TestUnresponsiveRedisCostsAtMostTheTimeout(t *testing.T) {
	needSigStop(t)
	clients := map[string]func(*redisServer) redis.Scripter{
		"deadlines": func(rs *redisServer) redis.Scripter { return rs.Client(t) },
		"no deadlines": func(rs *redisServer) redis.Scripter {
			c := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1, ReadTimeout: 5 * time.Second})
			t.Cleanup(func() { c.Close() })
			return c
		},
		"scripter only": func(rs *redisServer) redis.Scripter { return &gatedClient{Scripter: rs.Client(t)} },
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			rs := startRedis(t)
			s, err := redisstore.New(client(rs), "stall-key", slowPolicy(), redisstore.Options{Share: 0.5, Logger: slog.New(&countingHandler{})})
			require.NoError(t, err)
			require.Zero(t, take(t, s, 0, throttle.Cost{Requests: 1, Complexity: 1}, throttle.Cost{}))
			rs.mu.Lock()
			proc := rs.cmd.Process
			rs.mu.Unlock()
			require.NoError(t, proc.Signal(sigStop))
			defer proc.Signal(sigCont)
			start := time.Now()
			wait, err := admitOne(s, time.Second, throttle.Cost{Requests: 1, Complexity: 1}, throttle.Cost{})
			assert.Less(t, time.Since(start), redisstore.DefaultTimeout+200*time.Millisecond)
			assert.ErrorContains(t, err, "Redis is out of reach", "the exchange says Redis failed")
			assert.ErrorContains(t, err, "no answer from Redis within 100ms")
			assert.Zero(t, wait, "and the local budget admitted the call all the same")
			assert.False(t, s.Stats().OnRedis)
			start = time.Now()
			for i := range 100 {
				_, err := admitOne(s, time.Second+time.Duration(i)*time.Millisecond, throttle.Cost{Requests: 1, Complexity: 1}, throttle.Cost{})
				require.NoError(t, err, "the local budget answers, no probe yet")
			}
			assert.Less(t, time.Since(start), 50*time.Millisecond, "no Redis call between probes")
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	c := startRedis(t).Client(t)
	_, err := redisstore.New(c, "k", throttle.DefaultPolicy(), redisstore.Options{})
	assert.ErrorContains(t, err, "Share")
	_, err = redisstore.New(c, "", throttle.DefaultPolicy(), redisstore.Options{Share: 1})
	assert.Error(t, err)
	_, err = redisstore.New(nil, "k", throttle.DefaultPolicy(), redisstore.Options{Share: 1})
	assert.Error(t, err)
	p := throttle.DefaultPolicy()
	// Fine for throttle in nanoseconds (the 1000 in common with the period
	// in ns), but 2^53 units or more in microseconds.
	p.Buckets[1].Limit = 20_011_000
	p.Buckets[1].Period = 86_399_999 * time.Microsecond
	_, err = redisstore.New(c, "k", p, redisstore.Options{Share: 1})
	assert.ErrorContains(t, err, "too large")

	s, err := redisstore.New(c, "k", throttle.DefaultPolicy(), redisstore.Options{Share: 1.0 / 8})
	require.NoError(t, err)
	for _, b := range s.LocalPolicy().Buckets {
		if b.Kind == headers.Complexity && b.Window == headers.Minute {
			assert.EqualValues(t, 40, b.Limit, "never below a mem-it's cost")
			assert.InDelta(t, float64(time.Minute)*40/25, float64(b.Period), 1e3, "at an eighth of the rate")
		}
	}
}

// Two policies on one key: the second store refuses the shared state and
// stays on its local budget rather than corrupt it.
func TestPolicyMismatchFallsBack(t *testing.T) {
	rs := startRedis(t)
	s1, _ := newStore(t, rs, "mismatch", slowPolicy(), 0.5)
	require.Zero(t, take(t, s1, 0, throttle.Cost{Requests: 1, Complexity: 1}, throttle.Cost{}))
	s2, h := newStore(t, rs, "mismatch", throttle.DefaultPolicy(), 0.5)
	_, err := admitOne(s2, 0, throttle.Cost{Requests: 1, Complexity: 1}, throttle.Cost{})
	assert.ErrorContains(t, err, "MEMPOLICY")
	assert.False(t, s2.Stats().OnRedis)
	require.Len(t, h.Lines(), 1)
}
