package throttle

import (
	"context"
	"fmt"
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
// A Throttle calls the in-memory store (NewMemoryStore) with its own lock
// held, which guards that store's state. Any other store it calls without
// the lock: Exchange and Adopt one at a time (from one goroutine of the
// throttle's own, or from a Done that finds it idle), batching what came in
// meanwhile into the next Exchange, so that Snapshot, Done's bookkeeping and
// new arrivals do not wait for a round trip and a busy throttle needs far
// fewer round trips than calls; State may run beside them (Snapshot and
// Estimate call it from their caller's goroutine), so such a store must be
// safe for that. Now is the throttle's monotonic clock, which a shared
// store may replace with its own (all processes must agree on one). The
// contexts carry the caller's values but no deadline: a store bounds its
// own calls.
type Store interface {
	// Exchange applies x in one step (one round trip for a shared store):
	// first every answer of x.Answers in order (see Answer), then x.Give is
	// given back to every bucket (reservations that were not used), then
	// x.Admit's calls are tried (see Admission). It writes the results into
	// x. An error says that the state was out of reach; x's results still
	// say what was done (a store that falls back on a local budget fills
	// them in from it; one that did nothing admits nothing and sets
	// x.Admit.Wait to when to try again), and the throttle counts the error
	// in Stats.StoreErrors.
	Exchange(ctx context.Context, now time.Duration, x *Exchange) error
	// Adopt changes the limit of the bucket of kind k and window w to limit
	// tokens per the same period (a response reported another capacity),
	// keeping its level in tokens, at most the new limit. It reports false
	// when the store has no such bucket or cannot change it (a shared store
	// keyed on the policy).
	Adopt(ctx context.Context, now time.Duration, k headers.Kind, w headers.Window, limit int64) (bool, error)
	// State returns every bucket's state at now, the pause in force and
	// whether a response has resynchronised the levels. It changes nothing;
	// the Buckets slice is the caller's (a new one each call).
	State(ctx context.Context, now time.Duration) (StoreState, error)
}

// Exchange is one batch of work for Store.Exchange: what responses proved,
// tokens to give back, and the calls waiting to be admitted, with room for
// the results. The throttle reuses it: a store must not keep it, nor any
// slice in it, once Exchange returns.
type Exchange struct {
	// Answers are applied first, in order.
	Answers []Answer
	// Give is then given back to every bucket, never beyond full: calls
	// admitted by an earlier exchange whose callers had gone meanwhile.
	Give Cost
	// Admit is tried last.
	Admit Admission

	// Synced is set by the store: whether a response has resynchronised
	// the levels, once the exchange is applied.
	Synced bool
	// Levels is filled in by the store when it has len(Levels) equal to the
	// policy's buckets: each bucket's level once the exchange is applied,
	// in the policy's order (the throttle estimates waits from it).
	Levels []float64
}

// Admission is one wake of a throttle's queue: the calls waiting, in the
// order they are served, each of a line of calls of the same cost. The
// first call is the head. It is admitted when no pause is in force and
// every bucket holds its Cost plus Headroom (headroom is required, not
// spent: what the call must leave for others), and Room its Cost; then the
// next call is the head, and so on. A head that is short of tokens waits:
// Wait is set to how long, if nothing else changes the levels, and Latest,
// unless it is already later than now, to now plus twice that. Each later
// call is then admitted in its place if it fits too and the head, after
// it, would still be admitted by Latest: it passes the head. A later call
// that does not fit, or that Room cannot hold beside the head, is passed
// over with the rest of its line; the first that would push the head past
// Latest ends the admission, and the calls after it wait. A head that Room
// cannot hold ends it too: nothing passes it.
type Admission struct {
	// Calls are the calls to try, in the order they are served.
	Calls []Call
	// Room is what may be in flight besides the calls in flight now: each
	// admitted call takes its cost from it.
	Room Cost
	// Latest is the head's bound, from an earlier wake, or zero.
	Latest time.Duration

	// Set by the store. Wait is how long the first call not admitted must
	// wait for tokens (0: every call was admitted, or the head waits for
	// Room); Latest is its bound; Next is how long until the first call
	// passed over for tokens would fit (0: none was).
	Wait, Next time.Duration
	// RoomShort is set by the store when a call waited for Room (an
	// answer frees it).
	RoomShort bool
}

// Call is one queued call in an Admission.
type Call struct {
	// Cost is what the call is charged; Headroom what it must leave in the
	// buckets beside it (required, not spent).
	Cost, Headroom Cost
	// Line tells the call's line: calls of one line cost the same, so when
	// one does not fit the later ones are not tried.
	Line int
	// Admitted is set by the store when the call was admitted (charged).
	Admitted bool
}

// Answer is what one response proved, for Store.Exchange. The call leaves
// flight: the server charged it somewhere between its send and now, and a
// bucket it held full earned no refill until then, so each bucket is held
// to at most its limit less Inflight's tokens of its kind (the refill that
// the early charge at admission credited while the server's bucket sat full
// is taken back); then Cost is given back if Refund (the server refused
// the call and charged nothing). Then each reading narrows its bucket, in
// order: a level at or above the reading's ceiling counted on tokens the
// server did not have (another consumer spent them) and becomes its Floor;
// a level below Floor is raised to it if Raise; any other level is kept,
// since it is a lower bound the answer agrees with. Then the store counts
// as synced if Synced, and every admission waits until now+Pause if that
// is later than the pause in force.
type Answer struct {
	// Cost is the answered call's cost, and Inflight this client's cost in
	// flight just before the answer, the call's own included.
	Cost, Inflight Cost
	// Refund gives Cost back: the server refused the call, uncharged.
	Refund bool
	// Readings narrow one bucket each, in order (at most four: one per
	// bucket of a kind and window).
	Readings []BucketReading
	// Moved, of len(Readings), is filled in by the store: each reading's
	// bucket level before and after.
	Moved []Moved
	// Synced records that a response has told the real levels.
	Synced bool
	// Pause, when positive, holds every admission for that long from now
	// (a rate-limit 429's Retry-After).
	Pause time.Duration
}

// StoreState is what Store.State returns.
type StoreState struct {
	Buckets     []BucketState // one per bucket of the policy, in its order
	PausedUntil time.Duration // on the throttle's clock; 0 or past: no pause
	// Synced reports whether a response has told the real levels; until
	// then the throttle admits one call at a time.
	Synced bool
}

// BucketReading is a Reading of the bucket of one kind and window.
type BucketReading struct {
	Kind   headers.Kind   // the bucket's kind: requests or complexity
	Window headers.Window // the bucket's window: minute or day
	Reading
}

// Moved is one bucket's level before and after a reading; Found is false
// when the store has no such bucket.
type Moved struct {
	Before, After float64 // the bucket's level before and after the reading
	Found         bool    // false when the store has no such bucket
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
	// (Remaining + 1).
	Ceil int64
	// Slack is how long before now the server may have metered the call:
	// it holds less than Ceil plus the refill over Slack now.
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
	// Shown reports, in a Throttle's Snapshot, that an answer to this
	// throttle has shown this window, so that its level follows the
	// server's; when false the level is this client's own reckoning (full,
	// less its calls), since the headers show one window of each kind, the
	// more constrained.
	Shown bool
}

// String shows the bucket with its level and how long until it is full,
// e.g. "complexity/minute (200 per 1m0s): 33.3 held, full in 50s"; without
// it, the embedded Bucket's String would hide both.
func (s BucketState) String() string {
	return fmt.Sprintf("%s: %.1f held, full in %s", s.Bucket, s.Level, s.UntilFull.Round(time.Millisecond))
}

// memoryStore is the default Store: plain fields, guarded by the Throttle's
// lock. The Throttle calls its unexported methods directly, one bucket
// operation at a time; Exchange is the same work in one call, for code that
// holds it as a Store (a shared store's local fallback, tests).
type memoryStore struct {
	defs    []Bucket
	buckets []bucket
	paused  time.Duration
	synced  bool
	takes   int // take calls, for tests of how often the throttle asks
}

// NewMemoryStore returns a Store that keeps the state in this process, for
// the buckets of p (which must be valid). It is what New uses by default.
// It is not safe for concurrent use: a Throttle guards it with its lock.
func NewMemoryStore(p Policy) Store {
	s := &memoryStore{defs: append([]Bucket(nil), p.Buckets...)}
	for _, b := range p.Buckets {
		s.buckets = append(s.buckets, newBucket(b, 0))
	}
	return s
}

// take charges c to every bucket if, at now, no pause is in force and every
// bucket holds c plus headroom, and returns 0; otherwise it charges nothing
// and returns how long until that would be so.
func (s *memoryStore) take(now time.Duration, c, headroom Cost) time.Duration {
	s.takes++
	if wait := s.waitFor(now, c.Add(headroom)); wait > 0 {
		return wait
	}
	for i := range s.buckets {
		s.buckets[i].take(c.Of(s.defs[i].Kind))
	}
	return 0
}

// waitFor returns how long from now until no pause is in force and every
// bucket holds c; it charges nothing.
func (s *memoryStore) waitFor(now time.Duration, c Cost) time.Duration {
	wait := s.paused - now
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		wait = max(wait, b.waitFor(c.Of(s.defs[i].Kind)))
	}
	return max(0, wait)
}

func (s *memoryStore) give(now time.Duration, c Cost) {
	for i := range s.buckets {
		s.buckets[i].advance(now)
		s.buckets[i].give(c.Of(s.defs[i].Kind))
	}
}

// answer applies one Answer (see there).
func (s *memoryStore) answer(now time.Duration, a *Answer) {
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
		a.Moved[j] = s.resync(r)
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

// Exchange implements Store: the answers, the give and the admission, in
// this process. It never fails.
func (s *memoryStore) Exchange(_ context.Context, now time.Duration, x *Exchange) error {
	for i := range x.Answers {
		s.answer(now, &x.Answers[i])
	}
	if x.Give != (Cost{}) {
		s.give(now, x.Give)
	}
	s.admit(now, &x.Admit)
	x.Synced = s.synced
	if len(x.Levels) == len(s.buckets) {
		for i := range s.buckets {
			x.Levels[i] = s.buckets[i].level()
		}
	}
	return nil
}

// admit runs one Admission (see there).
func (s *memoryStore) admit(now time.Duration, a *Admission) {
	a.Wait, a.Next, a.RoomShort = 0, 0, false
	var skipped lineSet
	head := -1
	for i := range a.Calls {
		c := &a.Calls[i]
		c.Admitted = false
		if head < 0 { // c is the head
			if !c.Cost.Within(a.Room) {
				a.RoomShort = true
				return
			}
			if d := s.take(now, c.Cost, c.Headroom); d > 0 {
				head, a.Wait = i, d
				if a.Latest <= now {
					a.Latest = now + backfillDelay*d
				}
				continue
			}
			c.Admitted, a.Room = true, a.Room.Sub(c.Cost)
			continue
		}
		if skipped.has(c.Line) {
			continue
		}
		h := a.Calls[head]
		if !c.Cost.Add(h.Cost).Within(a.Room) {
			a.RoomShort = true
			skipped.add(c.Line)
			continue
		}
		if d := s.take(now, c.Cost, c.Headroom); d > 0 {
			a.Next = minPositive(a.Next, d)
			skipped.add(c.Line)
			continue
		}
		// Taking c lowered the levels, so the head still cannot go now; how
		// long must it wait after c?
		if hd := s.waitFor(now, h.Cost.Add(h.Headroom)); hd == 0 || now+hd > a.Latest {
			s.give(now, c.Cost)
			return // c would delay the head too much: the rest go after it
		}
		c.Admitted, a.Room = true, a.Room.Sub(c.Cost)
	}
}

// lineSet is a small set of line numbers.
type lineSet []int

func (l lineSet) has(x int) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

func (l *lineSet) add(x int) { *l = append(*l, x) }

// minPositive returns the smaller of a and b, ignoring zeros (0 if both are).
func minPositive(a, b time.Duration) time.Duration {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

func (s *memoryStore) Adopt(_ context.Context, now time.Duration, k headers.Kind, w headers.Window, limit int64) (bool, error) {
	return s.adopt(now, k, w, limit), nil
}

// adoptBucket adopts b's limit for b's bucket (see Store.Adopt).
func (s *memoryStore) adoptBucket(now time.Duration, b Bucket) bool {
	return s.adopt(now, b.Kind, b.Window, b.Limit)
}

func (s *memoryStore) adopt(now time.Duration, k headers.Kind, w headers.Window, limit int64) bool {
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

func (s *memoryStore) State(_ context.Context, now time.Duration) (StoreState, error) {
	buckets, paused := s.state(now)
	return StoreState{Buckets: buckets, PausedUntil: paused, Synced: s.synced}, nil
}

func (s *memoryStore) state(now time.Duration) ([]BucketState, time.Duration) {
	out := make([]BucketState, len(s.buckets))
	for i := range s.buckets {
		b := &s.buckets[i]
		b.advance(now)
		out[i] = BucketState{Bucket: s.defs[i], Level: b.level(), UntilFull: b.untilFull()}
	}
	return out, s.paused
}
