package throttle

import (
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Store holds the state a throttle mirrors for one API key: the buckets'
// levels, the pause that a 429 imposes, and whether any response has told
// the real levels yet. The in-memory store is the default; a store shared by
// several processes (issue 7: Redis) implements the same interface, so
// callers of Throttle do not change.
//
// A Throttle calls its store with its own lock held, so an implementation
// need not lock for one Throttle; now is the throttle's monotonic clock, which
// a shared store may replace with its own (all processes must agree on one).
type Store interface {
	// Take charges c to every bucket if, at now, no pause is in force and
	// every bucket holds enough; it then returns 0. Otherwise it charges
	// nothing and returns how long until that would be so (if nothing else
	// changes the levels meanwhile).
	Take(now time.Duration, c Cost) (wait time.Duration)
	// Give returns c to every bucket (a reservation that was not used, or a
	// call the server did not charge).
	Give(now time.Duration, c Cost)
	// Resync sets the level of the bucket of kind k and window w to target
	// tokens, and returns the levels before and after. When the current level
	// lies in [target, target+1) it is kept: it agrees with the server within
	// the server's rounding and holds this client's fraction of a token. When
	// raise is false the level may only go down.
	Resync(now time.Duration, k headers.Kind, w headers.Window, target int64, raise bool) (before, after float64, found bool)
	// Pause holds every Take until at least until.
	Pause(now, until time.Duration)
	// Synced reports whether a response has resynchronised the levels;
	// MarkSynced records that one has.
	Synced() bool
	MarkSynced()
	// State returns every bucket's state at now and the pause in force.
	State(now time.Duration) (buckets []BucketState, pausedUntil time.Duration)
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

func (s *memoryStore) Take(now time.Duration, c Cost) time.Duration {
	wait := s.paused - now
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		wait = max(wait, b.waitFor(c.Of(s.defs[i].Kind)))
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

func (s *memoryStore) Resync(now time.Duration, k headers.Kind, w headers.Window, target int64, raise bool) (before, after float64, found bool) {
	for i, d := range s.defs {
		if d.Kind != k || d.Window != w {
			continue
		}
		b := &s.buckets[i]
		b.advance(now)
		before = b.level()
		switch {
		case b.has(target + 1): // above the server's reading by a token or more: lower
			b.set(target)
		case !b.has(target) && raise: // below it: raise
			b.set(target)
		}
		return before, b.level(), true
	}
	return 0, 0, false
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
