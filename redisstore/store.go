package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
const (
	queueGrace = time.Second
	minRetry   = time.Millisecond
	probeHold  = 2 * time.Second
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
	// 27 ms, and a needless fallback costs throughput). Until Redis has
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
// Its methods are called by the Throttle under the Throttle's lock; each
// makes at most one Redis round trip, bounded by Options.Timeout (Synced and
// MarkSynced usually none). A Store is also safe for concurrent use on its
// own. See the package documentation for what is guaranteed.
type Store struct {
	client redis.Scripter
	keys   []string
	defs   []throttle.Bucket
	l, q   []int64 // per bucket: limit, units per token
	r      []int64 // per bucket: units per microsecond
	common []any   // the scripts' leading arguments
	opts   Options
	log    *slog.Logger
	local  throttle.Policy // the fallback's policy: limits scaled by Share

	mu         sync.Mutex
	ticket     int64 // our place in the shared queue, 0 for none
	synced     bool
	knowSynced bool
	pauseUntil time.Duration // latest pause known, on the throttle's clock
	fb         throttle.Store
	spent      throttle.Cost // charged to fb, not yet to Redis
	lastProbe  time.Duration
	switchAt   time.Duration // when Redis answered a probe: when to return to it
	gen        int64         // generation of the shared state last seen (changes when it is lost)
	lastLevel  []int64       // per bucket: whole tokens at the last reservation's reply
	knowLevels bool
	stats      Stats
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
	s.lastLevel = make([]int64, len(p.Buckets))
	if s.log == nil {
		s.log = slog.Default()
	}
	tag := HashTag(apiKey)
	s.keys = []string{tag + ":state", tag + ":queue", tag + ":waiters"}

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
	s.common = []any{strings.Join(fp, ","), ttl.Milliseconds(), len(p.Buckets)}
	for i := range s.l {
		s.common = append(s.common, s.l[i], s.q[i], s.r[i])
	}
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
// within ctx: call it at start-up so that the first reservation does not pay
// for it. An error is only informative: the store works without it, falling
// back as usual if Redis does not answer.
func (s *Store) Preload(ctx context.Context) error {
	for _, sc := range []*redis.Script{takeScript, giveScript, returnScript, answerScript, markSyncedScript, stateScript} {
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

// vector returns c per bucket of the policy.
func (s *Store) vector(c throttle.Cost) []any { return s.appendVector(nil, c) }

// appendVector appends c per bucket of the policy to dst.
func (s *Store) appendVector(dst []any, c throttle.Cost) []any {
	for _, d := range s.defs {
		dst = append(dst, c.Of(d.Kind))
	}
	return dst
}

// takeFixed are takeScript's arguments that never change, boxed once (a
// boxed integer above 255 costs an allocation).
var takeFixed = [...]any{queueGrace.Microseconds(), minRetry.Microseconds(), probeHold.Microseconds()}

// call runs one script with the store's keys and common arguments, and
// returns its integer reply. It never waits longer than Options.Timeout,
// even if the client ignores context deadlines.
func (s *Store) call(sc *redis.Script, args ...any) ([]int64, error) {
	timeout := s.opts.Timeout
	if s.stats.Calls == 0 {
		timeout = max(timeout, firstTimeout) // a connection to open, scripts to load
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	all := append(append(make([]any, 0, len(s.common)+len(args)), s.common...), args...)
	type result struct {
		v   []int64
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		v, err := sc.Run(ctx, s.client, s.keys, all...).Int64Slice()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			s.stats.Errors++
			return nil, r.err
		}
		s.stats.Calls++
		s.stats.Slowest = max(s.stats.Slowest, time.Since(start))
		return r.v, nil
	case <-ctx.Done():
		s.stats.Errors++
		return nil, fmt.Errorf("redisstore: no answer from Redis within %s", timeout)
	}
}

// onRedis reports whether to try Redis for this call: yes when not in
// fallback. In fallback, once per ProbeInterval, a probe; when Redis
// answers it, the store stays on its local budget until the recovery window
// (see returnScript) ends, then charges Redis with what it spent locally and
// uses Redis again.
func (s *Store) onRedis(now time.Duration) bool {
	if s.fb == nil {
		return true
	}
	zero := s.vector(throttle.Cost{})
	if s.switchAt > 0 {
		if now < s.switchAt {
			return false
		}
		v, err := s.call(returnScript, append(s.vector(s.spent), s.window().Microseconds(), 1, s.gen)...)
		if err != nil {
			s.switchAt, s.lastProbe = 0, now
			return false
		}
		s.setSynced(v[0])
		s.fb, s.spent, s.ticket, s.switchAt = nil, throttle.Cost{}, 0, 0
		s.stats.Returns++
		s.log.Info("redisstore: back to the shared budget in Redis", "key", s.keys[0], "cold_start", v[0] == 0)
		return true
	}
	if now-s.lastProbe < s.opts.ProbeInterval {
		return false
	}
	s.lastProbe = now
	v, err := s.call(returnScript, append(zero, s.window().Microseconds(), 0, 0)...)
	if err != nil {
		return false
	}
	// Charge Redis a little before the window closes, so that every active
	// process's charge is in before anyone reserves from Redis again.
	s.switchAt = now + max(time.Microsecond, time.Duration(v[2])*time.Microsecond-s.opts.Timeout-switchMargin)
	return false
}

// window is the recovery window: long enough for every active process in
// fallback to probe once more (a probe per ProbeInterval, each within a
// Timeout).
func (s *Store) window() time.Duration { return s.opts.ProbeInterval + 3*s.opts.Timeout }

// fail switches to the local budget after a failed Redis call.
func (s *Store) fail(now time.Duration, err error) {
	if errors.Is(err, redis.Nil) {
		err = errors.New("unexpected nil reply")
	}
	s.log.Warn("redisstore: Redis is out of reach; spending a local share of the budget until it answers",
		"key", s.keys[0], "share", s.opts.Share, "calls_answered_before", s.stats.Calls, "err", err)
	s.stats.Fallbacks++
	s.lastProbe = now
	// Start from Share of the levels the last reservation saw (empty if none
	// did): if every process falls back, together they hold no more than
	// the shared budget held.
	fb := throttle.NewMemoryStore(s.local)
	var starts []throttle.BucketReading
	for i, b := range s.local.Buckets {
		var start int64
		if s.knowLevels && s.lastLevel[i] > 0 {
			start = int64(math.Floor(float64(s.lastLevel[i]) * s.opts.Share))
		}
		starts = append(starts, throttle.BucketReading{Kind: b.Kind, Window: b.Window, Reading: throttle.Reading{Floor: start, Ceil: start}})
	}
	fb.Answer(now, throttle.Answer{Readings: starts, Pause: s.pauseUntil - now}, make([]throttle.Moved, len(starts)))
	s.fb, s.spent, s.ticket, s.switchAt = fb, throttle.Cost{}, 0, 0
}

func (s *Store) setSynced(v int64) { s.synced, s.knowSynced = v == 1, true }

// Take implements throttle.Store: it reserves c in every bucket, when each
// holds c plus headroom, all or nothing, in the order of the queue shared
// by every Store on the key, and returns 0, or how long until it could.
// One Redis round trip; in fallback, none (but one probe per
// ProbeInterval).
//
// The store's place in the shared queue is its Throttle's head's. A Take
// of the head that fails takes a place at the end of the queue, or, if the
// store holds one, gives it this cost and headroom and a new expiry; one
// that succeeds gives the place up. A passing Take (a later call that may
// pass the waiting head, or a look at how long the head must still wait)
// passes or waits behind the same ones as the head, and leaves the place,
// its cost and its expiry as they are.
func (s *Store) Take(now time.Duration, c, headroom throttle.Cost, passing bool) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onRedis(now) {
		args := s.appendVector(s.appendVector(make([]any, 0, 2*len(s.defs)+2+len(takeFixed)), c), headroom)
		args = append(append(append(args, s.ticket), takeFixed[:]...), flag(passing))
		v, err := s.call(takeScript, args...)
		if err == nil {
			s.setSynced(v[1])
			s.ticket, s.gen = v[2], v[4]
			for i := range s.defs {
				s.lastLevel[i] = v[5+i] / s.q[i]
			}
			s.knowLevels = true
			if v[3] > 0 {
				s.pauseUntil = max(s.pauseUntil, now+time.Duration(v[3])*time.Microsecond)
			}
			return time.Duration(v[0]) * time.Microsecond
		}
		s.fail(now, err)
	}
	wait := s.fb.Take(now, c, headroom, passing)
	if wait == 0 {
		s.spent = s.spent.Add(c)
	}
	return wait
}

// Give implements throttle.Store: it returns c to every bucket, never beyond
// full. One Redis round trip.
func (s *Store) Give(now time.Duration, c throttle.Cost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onRedis(now) {
		v, err := s.call(giveScript, s.vector(c)...)
		if err == nil {
			s.setSynced(v[0])
			return
		}
		s.fail(now, err)
	}
	s.fb.Give(now, c)
	s.spent = throttle.Cost{Requests: max(0, s.spent.Requests-c.Requests), Complexity: max(0, s.spent.Complexity-c.Complexity)}
}

// Answer implements throttle.Store: one Redis round trip for the whole
// response (the call leaving flight, the readings, the synced flag and a
// 429's pause). The limit a bucket is held to is lowered by this process's
// calls in flight only: other processes' calls in flight are not known
// here (see the package doc). A shared level is only ever lowered,
// whatever a reading's Raise says: its Floor subtracts only this process's
// calls in flight, so raising the shared level to it would hand out again
// the tokens that other processes' calls in flight hold (a reading that
// could only raise is not even sent). In fallback the local level, a share
// of the budget, is compared with Share of each reading, and likewise only
// lowered.
func (s *Store) Answer(now time.Duration, a throttle.Answer, moved []throttle.Moved) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Pause > 0 {
		s.pauseUntil = max(s.pauseUntil, now+a.Pause)
	}
	var sent [4]int // which readings go to Redis
	var rargs [16]any
	m := 0
	for j, r := range a.Readings {
		moved[j] = throttle.Moved{}
		i := s.index(r.Kind, r.Window)
		if i < 0 {
			continue
		}
		moved[j].Found = true
		if r.Ceil >= s.defs[i].Limit || m == len(sent) { // it can only raise, which a shared level never is
			continue
		}
		sent[m] = j
		rargs[4*m], rargs[4*m+1], rargs[4*m+2], rargs[4*m+3] = i+1, r.Floor, r.Ceil, r.Slack.Microseconds()
		m++
	}
	if s.onRedis(now) {
		args := s.appendVector(s.appendVector(make([]any, 0, 2*len(s.defs)+4+4*m), a.Cost), a.Inflight)
		args = append(append(args, flag(a.Refund), flag(a.Synced), max(0, int64((a.Pause+time.Microsecond-1)/time.Microsecond)), m), rargs[:4*m]...)
		v, err := s.call(answerScript, args...)
		if err == nil {
			s.setSynced(v[0])
			for x, j := range sent[:m] {
				q := float64(s.q[s.index(a.Readings[j].Kind, a.Readings[j].Window)])
				moved[j] = throttle.Moved{Before: float64(v[1+2*x]) / q, After: float64(v[2+2*x]) / q, Found: true}
			}
			return
		}
		s.fail(now, err)
	}
	s.answerLocally(now, a, moved, sent[:m])
}

// answerLocally is Answer in fallback: the readings sent (indexes into
// a.Readings) are scaled by Share and only lower the local budget.
func (s *Store) answerLocally(now time.Duration, a throttle.Answer, moved []throttle.Moved, sent []int) {
	share := s.opts.Share
	var lb [4]throttle.BucketReading
	local := lb[:0]
	for _, j := range sent {
		r := a.Readings[j]
		lr := throttle.Reading{Floor: int64(math.Floor(float64(r.Floor) * share)), Ceil: int64(math.Ceil(float64(r.Ceil) * share)), Slack: r.Slack}
		if r.Floor <= 0 {
			lr.Floor = r.Floor
		}
		local = append(local, throttle.BucketReading{Kind: r.Kind, Window: r.Window, Reading: lr})
	}
	var mb [4]throttle.Moved
	s.fb.Answer(now, throttle.Answer{Cost: a.Cost, Inflight: a.Inflight, Refund: a.Refund, Readings: local, Synced: a.Synced, Pause: a.Pause}, mb[:len(local)])
	for x, j := range sent {
		moved[j] = mb[x]
	}
	if a.Refund {
		s.spent = throttle.Cost{Requests: max(0, s.spent.Requests-a.Cost.Requests), Complexity: max(0, s.spent.Complexity-a.Cost.Complexity)}
	}
}

// flag is 1 for true, for a script's arguments.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Adopt implements throttle.Store: it reports false, so the throttle keeps
// the policy's limits. The shared state is keyed on the policy (every
// process must agree on it), so a limit the server reports is not adopted
// here; build every process with the new policy instead.
func (s *Store) Adopt(now time.Duration, k headers.Kind, w headers.Window, limit int64) bool {
	return false
}

func (s *Store) index(k headers.Kind, w headers.Window) int {
	for i, d := range s.defs {
		if d.Kind == k && d.Window == w {
			return i
		}
	}
	return -1
}

// Synced implements throttle.Store. It answers from the flag that the last
// Redis reply carried (a round trip only when none has yet); in fallback,
// from the local budget, which starts unsynced.
func (s *Store) Synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fb != nil {
		return s.fb.Synced()
	}
	if !s.knowSynced {
		if v, err := s.call(stateScript); err == nil {
			s.setSynced(v[2])
		} else {
			return false // unknown: stay in cold start
		}
	}
	return s.synced
}

// MarkSynced implements throttle.Store: no round trip when the last reply
// already said synced.
func (s *Store) MarkSynced() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fb != nil {
		s.fb.MarkSynced()
		return
	}
	if s.knowSynced && s.synced {
		return
	}
	if v, err := s.call(markSyncedScript); err == nil {
		s.setSynced(v[0])
	}
}

// State implements throttle.Store: the shared levels (or, in fallback, the
// local budget's) and the pause, converted to the Throttle's clock. One
// Redis round trip, read only.
func (s *Store) State(now time.Duration) ([]throttle.BucketState, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onRedis(now) {
		v, err := s.call(stateScript)
		if err == nil {
			s.setSynced(v[2])
			out := make([]throttle.BucketState, len(s.defs))
			for i, d := range s.defs {
				units := v[3+i]
				full := s.l[i] * s.q[i]
				untilFull := time.Duration((max(0, full-units)+s.r[i]-1)/s.r[i]) * time.Microsecond
				out[i] = throttle.BucketState{Bucket: d, Level: float64(units) / float64(s.q[i]), UntilFull: untilFull}
			}
			var paused time.Duration
			if v[1] > v[0] {
				paused = now + time.Duration(v[1]-v[0])*time.Microsecond
			}
			return out, paused
		}
		s.fail(now, err)
	}
	return s.fb.State(now)
}

// String describes the store without the API key.
func (s *Store) String() string {
	return "redisstore " + s.keys[0] + " (" + strconv.Itoa(len(s.defs)) + " buckets)"
}

var _ throttle.Store = (*Store)(nil)
