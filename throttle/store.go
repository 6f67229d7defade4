package throttle

import (
	"math"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Store holds the state a throttle mirrors for one API key: the buckets'
// levels, the pause that a 429 imposes, and whether any response has told
// the real levels yet. The in-memory store is the default; a store shared by
// several processes (the redisstore module's, in Redis) implements the same
// interface, so callers of Throttle do not change.
//
// A Throttle calls its store with its own lock held, so an implementation
// need not lock for one Throttle; now is the throttle's monotonic clock, which
// a shared store may replace with its own (all processes must agree on one).
type Store interface {
	// Take charges c to every bucket if, at now, no pause is in force and
	// every bucket holds c plus headroom; it then returns 0. Otherwise it
	// charges nothing and returns how long until that would be so (if
	// nothing else changes the levels meanwhile). Headroom is required,
	// not spent: what the call must leave for others (the drift reserve,
	// an interactive reserve).
	Take(now time.Duration, c, headroom Cost) (wait time.Duration)
	// Give returns c to every bucket (a reservation that was not used, or a
	// call the server did not charge).
	Give(now time.Duration, c Cost)
	// Settle records that a call of cost c, charged by Take, has its answer
	// (or its failure) at now; inflight is this client's cost in flight
	// just before, c included. The server charged the call somewhere
	// between its send and now, and a bucket it held full earned no refill
	// until then; so each bucket is first held to at most its limit less
	// inflight's tokens of its kind (the refill that Take's early charge
	// credited while the server's bucket sat full is taken back). Then, if
	// refund is set (the server refused the call and charged nothing), c is
	// given back.
	Settle(now time.Duration, c, inflight Cost, refund bool)
	// Resync narrows the level of the bucket of kind k and window w with
	// what a response proved (see Reading), and returns the levels before
	// and after: a level at or above r's ceiling counted on tokens the
	// server did not have (another consumer spent them) and becomes
	// r.Floor; a level below r.Floor is raised to it if r.Raise; any other
	// level is kept, since it is a lower bound the answer agrees with.
	Resync(now time.Duration, k headers.Kind, w headers.Window, r Reading) (before, after float64, found bool)
	// Adopt changes the limit of the bucket of kind k and window w to limit
	// tokens per the same period (a response reported another capacity),
	// keeping its level in tokens, at most the new limit. It reports false
	// when the store has no such bucket or cannot change it (a shared store
	// keyed on the policy).
	Adopt(now time.Duration, k headers.Kind, w headers.Window, limit int64) bool
	// Pause holds every Take until at least until.
	Pause(now, until time.Duration)
	// Synced reports whether a response has resynchronised the levels;
	// MarkSynced records that one has.
	Synced() bool
	MarkSynced()
	// State returns every bucket's state at now and the pause in force.
	State(now time.Duration) (buckets []BucketState, pausedUntil time.Duration)
}

// Reading is what one response proves about one bucket's level, in the
// terms of a Store's levels (the server's tokens less this client's calls
// still in flight). A response's Remaining is the floor of the level right
// after the server metered the call, somewhere between the call's send and
// its answer, so it bounds the level both ways.
type Reading struct {
	// Floor is a level the server holds at least now: Remaining less the
	// calls it may not have counted yet (this client's calls still in
	// flight, and those answered since this one was sent).
	Floor int64
	// Ceil is what the server held less than when it metered the call
	// (Remaining + 1), and Slack how long before now that may have been: it
	// holds less than Ceil plus the refill over Slack now.
	Ceil  int64
	Slack time.Duration
	// Raise allows raising a level below Floor. It is false when the
	// reading may predate tokens another consumer has taken since: an
	// answer to a call sent before a response proved such spending.
	Raise bool
}

// BucketState is one bucket as a Snapshot shows it.
type BucketState struct {
	Bucket
	// Level is the tokens held now; it may be fractional, and negative after
	// a resync found the server lower than this client's requests in flight.
	Level float64
	// UntilFull is how long, from the snapshot, until the bucket is full.
	UntilFull time.Duration
}

// memoryStore is the default Store: plain fields, guarded by the Throttle's lock.
type memoryStore struct {
	defs    []Bucket
	buckets []bucket
	paused  time.Duration
	synced  bool
}

// NewMemoryStore returns a Store that keeps the state in this process, for
// the buckets of p (which must be valid). It is what New uses by default.
func NewMemoryStore(p Policy) Store {
	s := &memoryStore{defs: append([]Bucket(nil), p.Buckets...)}
	for _, b := range p.Buckets {
		s.buckets = append(s.buckets, newBucket(b, 0))
	}
	return s
}

func (s *memoryStore) Take(now time.Duration, c, headroom Cost) time.Duration {
	wait := s.paused - now
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		k := s.defs[i].Kind
		wait = max(wait, b.waitFor(c.Of(k)+headroom.Of(k)))
	}
	if wait > 0 {
		return wait
	}
	for i := range s.buckets {
		s.buckets[i].take(c.Of(s.defs[i].Kind))
	}
	return 0
}

func (s *memoryStore) Give(now time.Duration, c Cost) {
	for i := range s.buckets {
		s.buckets[i].advance(now)
		s.buckets[i].give(c.Of(s.defs[i].Kind))
	}
}

func (s *memoryStore) Settle(now time.Duration, c, inflight Cost, refund bool) {
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		b.clamp(b.limit - inflight.Of(s.defs[i].Kind))
		if refund {
			b.give(c.Of(s.defs[i].Kind))
		}
	}
}

func (s *memoryStore) Resync(now time.Duration, k headers.Kind, w headers.Window, r Reading) (before, after float64, found bool) {
	for i, d := range s.defs {
		if d.Kind != k || d.Window != w {
			continue
		}
		b := &s.buckets[i]
		b.advance(now)
		before = b.level()
		if b.above(r.Ceil, r.Slack) || (r.Raise && !b.has(r.Floor)) {
			b.set(r.Floor)
		}
		return before, b.level(), true
	}
	return 0, 0, false
}

func (s *memoryStore) Adopt(now time.Duration, k headers.Kind, w headers.Window, limit int64) bool {
	for i, d := range s.defs {
		if d.Kind != k || d.Window != w {
			continue
		}
		old := &s.buckets[i]
		old.advance(now)
		s.defs[i].Limit = limit
		b := newBucket(s.defs[i], now)
		tokens := math.Floor(float64(old.scaled) / float64(old.q) * float64(b.q)) // rounded down: never more than held
		b.scaled = max(-MaxDebt*b.full(), min(b.full(), int64(tokens)))
		s.buckets[i] = b
		return true
	}
	return false
}

func (s *memoryStore) Pause(now, until time.Duration) { s.paused = max(s.paused, until) }

func (s *memoryStore) Synced() bool { return s.synced }
func (s *memoryStore) MarkSynced()  { s.synced = true }

func (s *memoryStore) State(now time.Duration) ([]BucketState, time.Duration) {
	out := make([]BucketState, len(s.buckets))
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		out[i] = BucketState{Bucket: s.defs[i], Level: b.level(), UntilFull: b.untilFull()}
	}
	return out, s.paused
}
