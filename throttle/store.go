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
	// an interactive reserve). Passing is set for a call that would pass
	// the waiting head of the throttle's line, and for a look at how long
	// the head must still wait: a store that keeps a place for the head in
	// a queue shared with other processes leaves that place as it is.
	Take(now time.Duration, c, headroom Cost, passing bool) (wait time.Duration)
	// Give returns c to every bucket (a reservation that was not used, or a
	// call the server did not charge).
	Give(now time.Duration, c Cost)
	// Answer records what one response proved, in one step (one round trip
	// for a shared store). First the call leaves flight: the server charged
	// it somewhere between its send and now, and a bucket it held full
	// earned no refill until then, so each bucket is held to at most its
	// limit less a.Inflight's tokens of its kind (the refill that Take's
	// early charge credited while the server's bucket sat full is taken
	// back); then a.Cost is given back if a.Refund (the server refused the
	// call and charged nothing). Then each reading narrows its bucket, in
	// order: a level at or above the reading's ceiling counted on tokens the
	// server did not have (another consumer spent them) and becomes its
	// Floor; a level below Floor is raised to it if Raise; any other level
	// is kept, since it is a lower bound the answer agrees with. Then the
	// store counts as synced if a.Synced, and every Take waits until
	// now+a.Pause if that is later than the pause in force. It writes into
	// moved, of len(a.Readings), each reading's bucket level before and
	// after. It must not keep a.Readings or moved once it returns (the
	// throttle reuses them).
	Answer(now time.Duration, a Answer, moved []Moved)
	// Adopt changes the limit of the bucket of kind k and window w to limit
	// tokens per the same period (a response reported another capacity),
	// keeping its level in tokens, at most the new limit. It reports false
	// when the store has no such bucket or cannot change it (a shared store
	// keyed on the policy).
	Adopt(now time.Duration, k headers.Kind, w headers.Window, limit int64) bool
	// Synced reports whether a response has resynchronised the levels;
	// MarkSynced records that one has (a Throttle does it through
	// Answer.Synced; this is for tools and tests that prime a store).
	Synced() bool
	MarkSynced()
	// State returns every bucket's state at now and the pause in force.
	State(now time.Duration) (buckets []BucketState, pausedUntil time.Duration)
}

// Answer is what one response proved, for Store.Answer.
type Answer struct {
	// Cost is the answered call's cost, and Inflight this client's cost in
	// flight just before the answer, the call's own included.
	Cost, Inflight Cost
	// Refund gives Cost back: the server refused the call, uncharged.
	Refund bool
	// Readings narrow one bucket each, in order (at most four: one per
	// bucket of a kind and window).
	Readings []BucketReading
	// Synced records that a response has told the real levels.
	Synced bool
	// Pause, when positive, holds every Take for that long from now (a
	// rate-limit 429's Retry-After).
	Pause time.Duration
}

// BucketReading is a Reading of the bucket of one kind and window.
type BucketReading struct {
	Kind   headers.Kind
	Window headers.Window
	Reading
}

// Moved is one bucket's level before and after a reading; Found is false
// when the store has no such bucket.
type Moved struct {
	Before, After float64
	Found         bool
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

func (s *memoryStore) Take(now time.Duration, c, headroom Cost, _ bool) time.Duration {
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

func (s *memoryStore) Answer(now time.Duration, a Answer, moved []Moved) {
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		k := s.defs[i].Kind
		b.clamp(b.limit - a.Inflight.Of(k))
		if a.Refund {
			b.give(a.Cost.Of(k))
		}
	}
	for j, r := range a.Readings {
		moved[j] = s.resync(r)
	}
	s.synced = s.synced || a.Synced
	if a.Pause > 0 {
		s.paused = max(s.paused, now+a.Pause)
	}
}

// resync applies one reading to its bucket, already advanced to now.
func (s *memoryStore) resync(r BucketReading) Moved {
	for i, d := range s.defs {
		if d.Kind != r.Kind || d.Window != r.Window {
			continue
		}
		b := &s.buckets[i]
		before := b.level()
		if b.above(r.Ceil, r.Slack) || (r.Raise && !b.has(r.Floor)) {
			b.set(r.Floor)
		}
		return Moved{Before: before, After: b.level(), Found: true}
	}
	return Moved{}
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
