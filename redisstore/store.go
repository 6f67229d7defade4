package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
)

// Defaults for Options.
const (
	DefaultTimeout       = 100 * time.Millisecond
	DefaultProbeInterval = time.Second
)

// queueGrace is how long past its expected wake-up a waiter keeps its place
// in the shared queue; minRetry is the least wait returned to a caller that
// has someone ahead of it (the one ahead is due, but has not taken yet).
// switchMargin (plus a Timeout) is how long before the recovery window
// closes a store charges Redis with its local spending and returns.
const switchMargin = 50 * time.Millisecond

// probeHold is how long a cold-start call holds the key before another may
// go, if no response with rate headers has ended the cold start.
//
// flightHold is how long a store's record of its calls in flight counts
// after its last exchange. A store that has calls in flight makes an
// exchange at every answer, so only a process that stopped (crashed, or
// cut off from Redis) or whose every call outlasts the hold goes past it.
// Past it, those calls no longer hold the other stores' levels down at
// their answers; while it lasts, a dead process's calls hold them down by
// their cost, at the answers only and only near full. A minute is longer
// than calls to Mem stay in flight, and short beside the day windows.
const (
	queueGrace = time.Second
	minRetry   = time.Millisecond
	probeHold  = 2 * time.Second
	flightHold = time.Minute
)

// firstTimeout bounds a Store's calls until Redis has answered one: the
// first opens a connection and may have to load its script.
const firstTimeout = time.Second

// exact is 2^53: every integer below it is a float64, so Lua holds it exactly.
const exact = 1 << 53

// Options configure a Store.
type Options struct {
	// Share is the fraction of every limit this process may spend while
	// Redis is out of reach, in (0, 1]. Give each of N processes on one key
	// at most 1/N (shares that add up to at most 1): then, while all of them
	// are cut off, together they cannot outspend the server. Required.
	Share float64
	// Timeout bounds each Redis call; past it the store falls back to its
	// local budget. Zero means DefaultTimeout (100 ms: loopback calls take
	// about 0.1 ms, but the slowest seen on a loaded 2-core machine took
	// 27 ms, and over 100 ms now and then with race-detector test runs
	// beside; a needless fallback costs throughput, and a process that
	// falls back alone may meet a few 429s). Until Redis has
	// answered a first call (which opens a connection and may load a
	// script), the bound is at least 1 s; Preload does that early.
	Timeout time.Duration
	// ProbeInterval is how often, at most, a store in fallback tries Redis
	// again (on its next call; there is no background goroutine). Zero
	// means DefaultProbeInterval (1 s).
	ProbeInterval time.Duration
	// Logger receives one warning when the store falls back and one info
	// line when it returns to Redis. Nil means slog.Default().
	Logger *slog.Logger
}

// Stats count what a Store has done since New.
type Stats struct {
	OnRedis   bool   // false while in fallback
	Calls     uint64 // Redis calls that answered
	Errors    uint64 // Redis calls that failed or timed out
	Fallbacks uint64 // switches from Redis to the local budget
	Returns   uint64 // switches back to Redis
	// Slowest is the longest time an answered Redis call took: compare it
	// with Options.Timeout.
	Slowest time.Duration
}

// Store is a throttle.Store whose state lives in Redis, shared by every
// Store (in this process or any other) created for the same API key and
// policy. Give it to one Throttle with throttle.WithStore; create one Store
// per Throttle (each Store holds its Throttle's place in the shared queue).
//
// The Throttle calls Exchange and Adopt from one goroutine of its own,
// without its lock, one at a time; State may run at the same time (a
// Snapshot), and never waits for an Exchange's round trip. Each makes at
// most one Redis round trip (in fallback, one probe per ProbeInterval at
// most), bounded by Options.Timeout. A Store is also safe for concurrent
// use on its own: Exchanges then take turns. See the package documentation
// for what is guaranteed.
type Store struct {
	client redis.Scripter
	// process is the client's Process, when it has one (redis.Client,
	// ClusterClient and Ring do): the scripts then run as commands built
	// once per round trip (see roundTrip). direct is whether the client
	// puts a context's deadline on its connections (see call).
	process func(ctx context.Context, cmd redis.Cmder) error
	direct  bool
	keys    []string
	defs    []throttle.Bucket
	l, q    []int64 // per bucket: limit, units per token
	r       []int64 // per bucket: units per microsecond
	common  []any   // the scripts' leading arguments: the policy's fingerprint, the constants
	opts    Options
	log     *slog.Logger
	local   throttle.Policy // the fallback's policy: limits scaled by Share

	// xmu makes Exchanges take turns, and guards the fields up to mu: only
	// they use them.
	xmu        sync.Mutex
	ticket     int64         // our place in the shared queue, 0 for none
	pauseUntil time.Duration // latest pause known, on the throttle's clock
	spent      throttle.Cost // charged to fb, not yet to Redis
	lastProbe  time.Duration
	switchAt   time.Duration // when Redis answered a probe: when to return to it
	gen        int64         // generation of the shared state last seen (changes when it is lost)
	lastLevel  []int64       // per bucket: whole tokens at the last exchange's reply
	knowLevels bool
	id         int64             // this store's field in the record of calls in flight
	flight     throttle.Cost     // this store's calls in flight after its last exchange
	xrt        *roundTrip        // the exchange's round trip, reused; nil after a failure
	lx         throttle.Exchange // the fallback's exchange
	lreadings  [4]throttle.BucketReading
	lmoved     [4]throttle.Moved

	// mu guards the rest. It is never held across a round trip.
	mu    sync.Mutex
	fb    throttle.Store // the local budget while Redis is out of reach, else nil
	stats Stats
}

// HashTag returns the Redis hash tag under which the state for apiKey is
// kept: "{mem:" followed by the first 16 hex digits of the key's SHA-256
// and "}". The keys are the tag followed by ":state", ":queue" and
// ":waiters". The API key itself is never sent to Redis.
func HashTag(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return "{mem:" + hex.EncodeToString(sum[:])[:16] + "}"
}

// New returns a Store for apiKey's buckets under policy p (which must be
// valid and the same in every process sharing the key), talking to Redis
// through client (a *redis.Client, *redis.ClusterClient, *redis.Ring or
// anything else that runs scripts). It does not contact Redis: the first
// call does. Periods are counted in whole microseconds (Redis's clock), a
// fractional one rounded up; each bucket's Limit × Period in µs, divided
// by gcd(Limit, Period in µs), must stay below 2^53/10 (with a 24 h period:
// any limit up to 10,000 tokens, and Mem's 4000 and 8000 by far).
//
// With a *redis.Client or *redis.ClusterClient that puts context deadlines
// on its connections (ContextTimeoutEnabled), each call runs on the calling
// goroutine with a context the store reuses from call to call: a hook
// added to such a client (redis.Hook) must not keep a call's context past
// the call, say in a goroutine it starts. Any other client's calls run on
// a goroutine of their own, bounded by Options.Timeout.
func New(client redis.Scripter, apiKey string, p throttle.Policy, o Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if apiKey == "" {
		return nil, errors.New("redisstore: empty API key")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !(o.Share > 0 && o.Share <= 1) {
		return nil, fmt.Errorf("redisstore: Share %v is not in (0, 1]", o.Share)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	s := &Store{client: client, opts: o, log: o.Logger, defs: append([]throttle.Bucket(nil), p.Buckets...)}
	if c, ok := client.(interface {
		Process(ctx context.Context, cmd redis.Cmder) error
	}); ok {
		s.process = c.Process
		s.direct = honoursDeadlines(client)
	}
	s.lastLevel = make([]int64, len(p.Buckets))
	if s.log == nil {
		s.log = slog.Default()
	}
	tag := HashTag(apiKey)
	s.keys = []string{tag + ":state", tag + ":queue", tag + ":waiters"}
	s.id = 1 + rand.Int64N(exact-1) // exact in Lua; two stores on a key collide with odds of 2^-53

	var fp []string
	var longest time.Duration
	for _, b := range p.Buckets {
		q, r := b.Units(time.Microsecond)
		pus := q * (b.Limit / r) // the period in whole µs: q·g, with g = Limit/r
		if b.Limit > exact/(2*(throttle.MaxDebt+1))/q {
			return nil, fmt.Errorf("redisstore: bucket %v: limit too large for its period (Limit × Period in µs / gcd must stay below 2^53/10)", b)
		}
		s.l, s.q, s.r = append(s.l, b.Limit), append(s.q, q), append(s.r, r)
		fp = append(fp, fmt.Sprintf("%s/%s=%d/%dus", b.Kind, b.Window, b.Limit, pus))
		longest = max(longest, b.Period)
	}
	ttl := 2*longest + time.Minute
	kinds, full := make([]int64, len(p.Buckets)), make([]int64, len(p.Buckets))
	for i, b := range p.Buckets {
		kinds[i], full[i] = int64(b.Kind)+1, s.l[i]*s.q[i]
	}
	var consts payload
	consts.add(ttl.Milliseconds(), int64(len(p.Buckets)),
		queueGrace.Microseconds(), minRetry.Microseconds(), probeHold.Microseconds(), flightHold.Microseconds())
	for _, xs := range [][]int64{s.l, s.q, s.r, kinds, full} {
		consts.addArray(xs...)
	}
	s.common = []any{strings.Join(fp, ","), string(consts.b)}
	local, err := scaled(p, o.Share)
	if err != nil {
		return nil, err
	}
	s.local = local
	return s, nil
}

// scaled returns p with every bucket's refill rate multiplied by share, and
// its capacity too, but never below the policy's largest cost of a call
// (Policy.MaxCost; or a mem-it could never pass).
func scaled(p throttle.Policy, share float64) (throttle.Policy, error) {
	out := throttle.Policy{Cost: p.Cost}
	for _, b := range p.Buckets {
		limit := max(int64(math.Floor(float64(b.Limit)*share)), p.MaxCost().Of(b.Kind))
		// Rate limit/period' = share × L/P: period' = P × limit / (share × L), rounded up.
		period := time.Duration(math.Ceil(float64(b.Period) * float64(limit) / (share * float64(b.Limit))))
		out.Buckets = append(out.Buckets, throttle.Bucket{Kind: b.Kind, Window: b.Window, Limit: limit, Period: period})
	}
	if err := out.Validate(); err != nil {
		return throttle.Policy{}, fmt.Errorf("redisstore: the fallback's scaled policy: %w", err)
	}
	return out, nil
}

// Stats returns the store's counters and whether it is on Redis now. It
// makes no Redis call and is safe for concurrent use.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.OnRedis = s.fb == nil
	return st
}

// Preload loads the store's scripts into Redis (and so opens a connection),
// within ctx: call it at start-up so that the first exchange does not pay
// for it. An error is only informative: the store works without it, falling
// back as usual if Redis does not answer.
func (s *Store) Preload(ctx context.Context) error {
	for _, sc := range []*redis.Script{exchangeScript, returnScript, stateScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			return fmt.Errorf("redisstore: loading scripts: %w", err)
		}
	}
	return nil
}

// LocalPolicy returns the policy of the local budget used while Redis is out
// of reach: every bucket's rate scaled by Options.Share, its capacity too
// (but never below the largest cost of a call).
func (s *Store) LocalPolicy() throttle.Policy { return s.local }

// Adopt implements throttle.Store: it reports false, so the throttle keeps
// the policy's limits. The shared state is keyed on the policy (every
// process must agree on it), so a limit the server reports is not adopted
// here; build every process with the new policy instead. No round trip.
func (s *Store) Adopt(context.Context, time.Duration, headers.Kind, headers.Window, int64) (bool, error) {
	return false, nil
}

// State implements throttle.Store: the shared levels and the pause,
// converted to the Throttle's clock, and the synced flag; in fallback, the
// local budget's, with no round trip. Otherwise one Redis round trip, read
// only, which never waits for an Exchange under way. When Redis does not
// answer it returns an error, with the local budget's state if the store
// has fallen back meanwhile (it does not fall back itself: the next
// Exchange does).
func (s *Store) State(ctx context.Context, now time.Duration) (throttle.StoreState, error) {
	if st, ok := s.localState(ctx, now); ok {
		return st, nil
	}
	v, err := s.call(ctx, s.newRoundTrip(stateScript))
	if err == nil && len(v) != 3+len(s.defs) {
		err = fmt.Errorf("a reply of %d integers, not %d", len(v), 3+len(s.defs))
	}
	if err != nil {
		st, _ := s.localState(ctx, now)
		return st, fmt.Errorf("redisstore: reading the shared state: %w", err)
	}
	out := throttle.StoreState{Buckets: make([]throttle.BucketState, len(s.defs)), Synced: v[2] == 1}
	for i, d := range s.defs {
		units := v[3+i]
		full := s.l[i] * s.q[i]
		untilFull := time.Duration((max(0, full-units)+s.r[i]-1)/s.r[i]) * time.Microsecond
		out.Buckets[i] = throttle.BucketState{Bucket: d, Level: float64(units) / float64(s.q[i]), UntilFull: untilFull}
	}
	if v[1] > v[0] {
		out.PausedUntil = now + time.Duration(v[1]-v[0])*time.Microsecond
	}
	return out, nil
}

// localState returns the local budget's state, and false when the store is
// on Redis.
func (s *Store) localState(ctx context.Context, now time.Duration) (throttle.StoreState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fb == nil {
		return throttle.StoreState{}, false
	}
	st, _ := s.fb.State(ctx, now) // the memory store never fails
	return st, true
}

// index returns the policy's bucket of kind k and window w, or -1.
func (s *Store) index(k headers.Kind, w headers.Window) int {
	for i, d := range s.defs {
		if d.Kind == k && d.Window == w {
			return i
		}
	}
	return -1
}

// String describes the store without the API key.
func (s *Store) String() string {
	return "redisstore " + s.keys[0] + " (" + strconv.Itoa(len(s.defs)) + " buckets)"
}

var _ throttle.Store = (*Store)(nil)
