// Package throttle keeps a local mirror of the Mem API's leaky buckets, so
// that callers spend every token the server allows and never trip a limit.
//
// A call reserves its whole cost (request tokens and complexity tokens, in
// the minute and day windows) at once, all or nothing, waiting when the
// buckets are short: by priority (WithPriority: interactive calls before
// default ones, default before batch, none starved), and in FIFO order
// within one (a later call may pass a waiting head within a bound on the
// head's delay, so that no bucket idles: see Throttle.Wait).
// Every response resynchronises the mirror from its X-RateLimit-* and
// X-Complexity-* headers; a rate-limit 429 pauses every caller until
// Retry-After has passed. Transport wraps an http.RoundTripper with all of
// this; Wait and Done are the same steps for other HTTP code.
//
// The bucket math: a bucket of Limit tokens refills continuously at
// Limit/Period and never holds more than Limit. A call of cost c passes when
// every bucket holds at least its c, and takes c from each. From full
// buckets, N calls of cost c in a bucket of limit L therefore take
// max(0, N−⌊L/c⌋)·c·Period/L: 5 mem-it calls at once then one every 12 s.
//
// # What the mirror assumes of the network
//
// Only this: the server charges a call at some moment between its send and
// its answer (a bucket it holds full earns no refill until then); it may
// meter calls in another order than they were sent, and answers may come
// back in another order than they were metered; a response's Remaining is
// the floor of the level right after its call was metered, counting every
// call metered before it. So the mirror keeps a level that is at most the
// server's whatever the order and the latencies: a call is charged at
// admission, but a bucket's refill is not credited past its limit less the
// calls still in flight; no more than a bucket's capacity is ever in flight;
// and each answer narrows the level with what it proves (see Done and
// Reading), lowering it only on proof that someone else spent. Alone on its
// key, a client therefore never meets a rate-limit 429 and loses, per burst
// that takes a full bucket below its limit, at most the refill of one
// answer's latency. With other consumers on the key that do not share a
// Store, the drift reserve makes 429s rare, not impossible.
package throttle

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Throttle is the local mirror of one API key's buckets. Share one Throttle
// between all clients that use the same key in a process. It is safe for
// concurrent use.
type Throttle struct {
	policy Policy
	hooks  Hooks
	epoch  time.Time // origin of the monotonic clock the store sees

	mu        sync.Mutex
	store     Store
	queue     queue // the calls waiting for tokens
	inflight  Cost  // admitted, not yet Done
	inflightN int
	capacity  Cost // per kind, the smallest bucket: the most that may be in flight
	charged   Cost // total cost of the calls Done so far that the server may have charged
	// lowerings counts the responses that proved another consumer spent
	// on the key: answers to calls sent before the last one may predate
	// that spending, and raise nothing.
	lowerings uint64
	stats     Stats
	drift     drift  // what others spend on the key, as the resyncs show it
	seq       uint64 // admissions so far
	// othersSeen is when an answer to a call that was not alone in flight
	// last proved another consumer: such a proof cannot be a price change
	// of one route, so measurements of prices wait (see costBook).
	othersSeen time.Duration
	costs      costBook // what each route costs, as the headers show it
	// ownStore is false for a store shared with other processes: their
	// calls go between two answers unseen (the shared level knows them, so
	// nothing proves them), so such a throttle measures no price.
	ownStore bool

	// reserve is kept back from all but interactive calls while one has
	// come in the last reserveIdle (see WithReserve).
	// readBuf and movedBuf are Done's scratch space for the store's Answer
	// (at most two windows a kind), kept here so that Done does not
	// allocate: an interface call's arguments escape.
	readBuf  [4]BucketReading
	movedBuf [4]Moved

	// flightFull records that a call waited because the calls in flight
	// filled a bucket's capacity: the next answer must wake the queue.
	flightFull bool

	reserve         Cost
	reserveIdle     time.Duration
	lastInteractive time.Duration
}

// backfillDelay bounds how far calls that pass a waiting head may delay it:
// to backfillDelay times the wait it had when it reached the head.
const backfillDelay = 2

// Option configures a Throttle.
type Option func(*Throttle)

// WithHooks installs callbacks for waits, resyncs and pauses (for progress
// displays and metrics).
func WithHooks(h Hooks) Option { return func(t *Throttle) { t.hooks = h } }

// WithMaxStarvation bounds how long the calls of one priority can be kept
// waiting by calls of the priorities served before it: a priority whose
// calls have waited d with none of them admitted goes first, until one is.
// The default is a sixth of the policy's shortest bucket period (10 s at
// Mem's limits). A stream of interactive calls thus delays batch work by at
// most d plus what its tokens take; d must be positive.
func WithMaxStarvation(d time.Duration) Option {
	return func(t *Throttle) {
		if d > 0 {
			t.queue.starve = d
		}
	}
}

// WithReserve keeps r tokens in every bucket for interactive calls: default
// and batch calls pass only when the buckets hold their cost plus r, so an
// interactive call usually goes at once even while an import drains the
// buckets. The reserve is held from New and after each interactive call,
// until no interactive call has come for idle; then the other calls may
// spend it, so it never sits unused for long. Choose idle longer than the
// usual gap between interactive calls, or the reserve is spent just before
// the next one comes. Holding it costs a batch the
// time r takes to refill, once, until it is released.
func WithReserve(r Cost, idle time.Duration) Option {
	return func(t *Throttle) { t.reserve, t.reserveIdle = r, idle }
}

// WithStore replaces the in-memory state with s (for example a store shared
// between processes). s must hold the buckets of the throttle's policy.
func WithStore(s Store) Option { return func(t *Throttle) { t.store = s } }

// New returns a Throttle for policy p, with full buckets and in cold start:
// until a response carries rate headers, one call at a time is let through,
// so a process that starts after another has drained the key does not fire a
// burst into 429s. It fails when p is not valid (see Policy.Validate).
func New(p Policy, opts ...Option) (*Throttle, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t := &Throttle{
		policy:   Policy{Buckets: slices.Clone(p.Buckets), Cost: p.Cost},
		epoch:    time.Now(),
		capacity: p.capacity(),
		drift:    newDrift(p),
		queue:    queue{starve: p.shortestPeriod() / 6},
	}
	for _, o := range opts {
		o(t)
	}
	if t.store == nil {
		t.store = NewMemoryStore(t.policy)
	}
	_, t.ownStore = t.store.(*memoryStore)
	return t, nil
}

// Policy returns the throttle's policy (a copy: changing it changes nothing).
func (t *Throttle) Policy() Policy {
	return Policy{Buckets: slices.Clone(t.policy.Buckets), Cost: t.policy.Cost}
}

// Cost prices a request by method and URL path: what the headers have shown
// that route to cost (see Transport), or else the policy's cost function.
func (t *Throttle) Cost(method, urlPath string) Cost {
	route := routeKey(method, urlPath)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.costs.costOf(route, t.policy.Cost(method, urlPath))
}

func (t *Throttle) now() time.Duration { return time.Since(t.epoch) }

// Ticket is an admitted call. Pass it to Done exactly once, when the response
// (or the failure) is known.
type Ticket struct {
	cost      Cost
	at        time.Duration // when the call was admitted, on the throttle's clock
	charged   Cost          // the throttle's charged total then
	lowerings uint64        // and its lowerings count
	seq       uint64        // the admission's number
	route     uint64        // the cost book's key, 0 if unknown
	alone     bool          // nothing else was in flight
}

// Cost returns what the ticket's call was charged.
func (tk Ticket) Cost() Cost { return tk.cost }

// DeadlineError is returned by Wait when the tokens would come only after the
// context's deadline. It wraps context.DeadlineExceeded and says how long the
// wait would have been.
type DeadlineError struct {
	Cost Cost
	Wait time.Duration // estimated wait, from when Wait was called
}

// Error says what the call costs and how long it would have waited.
func (e *DeadlineError) Error() string {
	return fmt.Sprintf("throttle: a call costing %d request and %d complexity tokens would wait %s, past the context deadline",
		e.Cost.Requests, e.Cost.Complexity, e.Wait.Round(time.Millisecond))
}

// Unwrap returns context.DeadlineExceeded, so errors.Is works as for a timeout.
func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// CostError is returned by Wait for a call that costs more than a bucket
// holds: it could never pass (the server would refuse it too).
type CostError struct {
	Cost     Cost
	Capacity Cost // per kind, the smallest bucket's limit
}

// Error says what the call costs and what the buckets hold.
func (e *CostError) Error() string {
	return fmt.Sprintf("throttle: a call costing %d request and %d complexity tokens exceeds the buckets' capacity (%d and %d)",
		e.Cost.Requests, e.Cost.Complexity, e.Capacity.Requests, e.Capacity.Complexity)
}

// Wait blocks until the buckets hold c, takes it, and returns the admitted
// call's ticket. It returns at once when the tokens are there and nobody is
// queued. Callers are served by priority (see WithPriority; Default when
// ctx carries none) and, within a priority, in FIFO order, so a costly call
// is not starved by a stream of cheap ones; a priority whose calls have had
// none admitted for the starvation bound goes first (see
// WithMaxStarvation). One exception keeps every bucket busy: while the head
// of the line waits for tokens, a later call that fits may pass it, as long
// as the head is still admitted within backfillDelay (2) times the wait it
// had (a mem-it waiting 12 s for complexity tokens lets cheap calls use the
// request tokens meanwhile, and goes at 24 s at the latest). A call that
// costs more than a bucket holds fails at once with a *CostError. When the
// tokens cannot come before ctx's deadline (the bucket math, counting the
// calls queued ahead of it), Wait fails at once with a *DeadlineError; when
// ctx ends while waiting, it returns ctx.Err() and has taken nothing.
//
// The fast path (tokens available, nobody waiting) takes one lock and does
// not allocate. A waiting call costs O(1) in the length of the queue.
func (t *Throttle) Wait(ctx context.Context, c Cost) (Ticket, error) {
	p := PriorityOf(ctx)
	t.mu.Lock()
	return t.waitLocked(ctx, c, 0, p)
}

// waitRoute is Wait for a request: it prices it by what its route has been
// seen to cost, and lets the answer measure it (see costBook).
func (t *Throttle) waitRoute(ctx context.Context, method, urlPath string) (Ticket, error) {
	route := routeKey(method, urlPath)
	p := PriorityOf(ctx)
	t.mu.Lock()
	return t.waitLocked(ctx, t.costs.costOf(route, t.policy.Cost(method, urlPath)), route, p)
}

// waitLocked is Wait with t.mu held; it releases it.
func (t *Throttle) waitLocked(ctx context.Context, c Cost, route uint64, p Priority) (Ticket, error) {
	if !c.Within(t.capacity) {
		limit := t.capacity
		t.mu.Unlock()
		return Ticket{}, &CostError{Cost: c, Capacity: limit}
	}
	now := t.now()
	rank := p.rank()
	if rank == Interactive.rank() {
		t.lastInteractive = now
	}
	if t.queue.len() == 0 && t.mayAdmit() && t.take(now, c, rank) == 0 {
		tk := t.admit(now, c, route, rank)
		t.mu.Unlock()
		return tk, nil
	}
	if err := ctx.Err(); err != nil {
		t.mu.Unlock()
		return Ticket{}, err
	}
	if err := t.checkDeadline(ctx, c, rank); err != nil {
		t.stats.DeadlineFailures++
		t.mu.Unlock()
		return Ticket{}, err
	}
	w := &waiter{cost: c, route: route, priority: p, rank: rank, wake: make(chan struct{}, 1)}
	t.queue.push(w, now)
	if w.prev == nil { // the first of its line: the head may let it pass
		t.wakeHeadLocked(now)
	}
	t.mu.Unlock()
	return t.waitInQueue(ctx, w)
}

// checkDeadline fails a call that cannot be admitted before ctx's deadline:
// the buckets must first refill what the calls queued ahead of it cost, and
// its own cost. (A lower bound of the wait: refill lost to a full bucket
// meanwhile is not counted, so no call that could make it is refused.)
func (t *Throttle) checkDeadline(ctx context.Context, c Cost, rank int) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	need := t.queue.aheadOf(rank).Add(c)
	states, paused := t.store.State(t.now())
	est := max(0, paused-t.now())
	for _, s := range states {
		est = max(est, s.Bucket.refillTime(float64(need.Of(s.Kind))-s.Level))
	}
	if time.Now().Add(est).After(deadline) {
		return &DeadlineError{Cost: c, Wait: est}
	}
	return nil
}

// waitInQueue waits until w is admitted, as the head of the line or by
// passing it (see backfillLocked), or ctx ends.
func (t *Throttle) waitInQueue(ctx context.Context, w *waiter) (Ticket, error) {
	start := time.Now()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for woken := false; ; woken = true {
		t.mu.Lock()
		sleep, err := t.turn(w, woken)
		if err != nil {
			t.mu.Unlock()
			return Ticket{}, err
		}
		if w.admitted {
			waited := time.Since(start)
			t.stats.Waits++
			t.stats.WaitTime += waited
			t.mu.Unlock()
			if t.hooks.OnWait != nil {
				t.hooks.OnWait(WaitEvent{Cost: w.cost, Priority: w.priority, Waited: waited})
			}
			return w.ticket, nil
		}
		t.mu.Unlock()
		var timerC <-chan time.Time
		if sleep > 0 {
			if timer == nil {
				timer = time.NewTimer(sleep)
			} else {
				timer.Reset(sleep)
			}
			timerC = timer.C
		}
		select {
		case <-w.wake:
		case <-timerC:
		case <-ctx.Done():
			t.cancel(w)
			return Ticket{}, ctx.Err()
		}
	}
}

// turn is one look at the queue by w, with t.mu held: w takes its tokens
// if it is the head of the line and they are there; a head short of tokens
// lets others pass it (see backfillLocked) and returns how long to sleep
// before looking again (0: until woken). A waiter woken that is no longer
// the head passes the wake on to the head (it changed meanwhile).
func (t *Throttle) turn(w *waiter, woken bool) (sleep time.Duration, err error) {
	if w.admitted {
		return 0, nil
	}
	now := t.now()
	if t.queue.head(now) != w {
		if woken {
			t.wakeHeadLocked(now)
		}
		return 0, nil
	}
	if !w.cost.Within(t.capacity) { // a limit fell below the cost
		t.queue.remove(w)
		t.wakeHeadLocked(now)
		return 0, &CostError{Cost: w.cost, Capacity: t.capacity}
	}
	if !t.mayAdmit() {
		return 0, nil // the probe's answer wakes the head
	}
	d := t.take(now, w.cost, w.rank)
	if d == 0 {
		t.queue.remove(w)
		w.ticket, w.admitted = t.admit(now, w.cost, w.route, w.rank), true
		t.wakeHeadLocked(now)
		return 0, nil
	}
	if w.latest == 0 {
		w.latest = now + backfillDelay*d
	}
	for _, next := range [...]time.Duration{
		t.backfillLocked(now, w),
		t.queue.nextStarving(now, w.rank),
		t.reserveRelease(now, w.rank),
	} {
		if next > 0 {
			d = min(d, next)
		}
	}
	return d, nil
}

// wake tells w to look again.
func wake(w *waiter) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// cancel takes w out of the queue when its context ended; a call that had
// just passed the head is undone, as if never admitted.
func (t *Throttle) cancel(w *waiter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if w.admitted {
		t.store.Give(now, w.cost)
		t.inflight = t.inflight.Sub(w.cost)
		t.inflightN--
		t.stats.Admitted--
		t.stats.Backfilled--
	}
	t.queue.remove(w)
	t.stats.Cancelled++
	t.wakeHeadLocked(now) // the next in line may be able to go now
}

// backfillLocked lets calls queued behind a waiting head pass it, by
// priority and then in queue order, when they fit now and the head, short
// of tokens, is still admitted by its latest time. Strict FIFO would leave a
// bucket idle while the head waits on another: a mem-it waits for
// complexity tokens while request tokens pile up at the cap, unused. The
// bound keeps FIFO's promise that the head is not starved: it waits at most
// backfillDelay times what it would have. A line whose first call does not
// fit yet is passed over (its calls cost the same); it is protected in turn
// when it reaches the head. Only the first call of each line is asked, so a
// wake costs O(lines + calls admitted). It returns how long until the first
// passed-over call would fit (0: none).
func (t *Throttle) backfillLocked(now time.Duration, head *waiter) time.Duration {
	var buf [8]*waiter
	lines := t.queue.lines(head, buf[:0])
	var next time.Duration
	for len(lines) > 0 {
		x := lines[0]
		if d := t.take(now, x.cost, x.rank); d > 0 {
			if next == 0 || d < next {
				next = d
			}
			lines = lines[1:] // the rest of x's line costs the same
			continue
		}
		// Taking x lowered the levels, so the head still cannot go now;
		// this asks how long it must wait after x (charging nothing).
		if hd := t.take(now, head.cost, head.rank); hd == 0 || now+hd > head.latest {
			if hd == 0 { // cannot happen; never keep a charge nobody holds
				t.store.Give(now, head.cost)
			}
			t.store.Give(now, x.cost)
			return 0 // x would delay the head too much: the rest go after it
		}
		t.queue.remove(x)
		x.ticket, x.admitted = t.admit(now, x.cost, x.route, x.rank), true
		t.stats.Backfilled++
		wake(x)
		lines = t.advanceLine(lines, x)
	}
	return next
}

// advanceLine replaces lines[0], just admitted, with the next call of its
// line, kept in the order backfill considers them (rank, then arrival).
func (t *Throttle) advanceLine(lines []*waiter, x *waiter) []*waiter {
	y := x.next
	if y == nil {
		return lines[1:]
	}
	lines[0] = y
	for i := 1; i < len(lines) && (lines[i].rank < y.rank || lines[i].rank == y.rank && lines[i].seq < y.seq); i++ {
		lines[i-1], lines[i] = lines[i], lines[i-1]
	}
	return lines
}

// take charges c when the buckets hold c plus the headroom a call of rank
// must leave (see headroom). It also keeps what is in flight within the
// smallest bucket of each kind: the server may meter every call in flight
// at once, when its bucket is full.
func (t *Throttle) take(now time.Duration, c Cost, rank int) time.Duration {
	if !t.inflight.Add(c).Within(t.capacity) {
		t.flightFull = true
		return answerWait
	}
	return t.store.Take(now, c, t.headroom(now, c, rank))
}

// headroom is what a call of cost c and rank must leave in the buckets: the
// drift reserve (what other consumers have probably spent unseen, see
// drift), and for all but interactive calls the interactive reserve while
// it is held (see WithReserve). It never asks more than the buckets hold
// beyond c.
func (t *Throttle) headroom(now time.Duration, c Cost, rank int) Cost {
	var r Cost
	if t.drift.active { // else alone on the key
		r = t.drift.reserve(now)
	}
	if rank != Interactive.rank() && t.reserveHeld(now) {
		r = r.Add(t.reserve)
	}
	room := t.capacity.Sub(c)
	return Cost{Requests: min(r.Requests, room.Requests), Complexity: min(r.Complexity, room.Complexity)}
}

// reserveHeld reports whether the interactive reserve is kept back now:
// from New, and after each interactive call, for the reserve's idle time.
func (t *Throttle) reserveHeld(now time.Duration) bool {
	return t.reserve != (Cost{}) && now-t.lastInteractive < t.reserveIdle
}

// reserveRelease returns how long until a head of rank stops having to
// leave the interactive reserve (0: it need not, or never will by itself).
func (t *Throttle) reserveRelease(now time.Duration, rank int) time.Duration {
	if rank == Interactive.rank() || !t.reserveHeld(now) {
		return 0
	}
	return t.lastInteractive + t.reserveIdle - now
}

// mayAdmit applies the cold-start rule: before the first resync, one call in flight at most.
func (t *Throttle) mayAdmit() bool { return t.inflightN == 0 || t.store.Synced() }

// answerWait is how long a call waits, at most, when the calls in flight
// already fill a bucket's capacity: an answer (Done) wakes it sooner.
const answerWait = 100 * time.Millisecond

func (t *Throttle) admit(now time.Duration, c Cost, route uint64, rank int) Ticket {
	alone := t.inflightN == 0
	t.seq++
	t.inflight = t.inflight.Add(c)
	t.inflightN++
	t.stats.Admitted++
	t.queue.served(rank, now)
	return Ticket{cost: c, at: now, charged: t.charged, lowerings: t.lowerings, seq: t.seq, route: route, alone: alone}
}

// wakeHeadLocked tells the head of the line to look again.
func (t *Throttle) wakeHeadLocked(now time.Duration) {
	if w := t.queue.head(now); w != nil {
		wake(w)
	}
}

// queuedCosts lists the costs of everyone queued, in the order they are
// served, then those of more.
func (t *Throttle) queuedCosts(more ...Cost) []Cost {
	costs := make([]Cost, 0, t.queue.len()+len(more))
	for _, w := range t.queue.all() {
		costs = append(costs, w.cost)
	}
	return append(costs, more...)
}

// Outcome is what came back for an admitted call.
type Outcome struct {
	// Responded is false when no response arrived (a transport error): the
	// call may or may not have been charged by the server, so nothing is
	// resynchronised and nothing is given back.
	Responded bool
	// StatusCode and Header are the response's.
	StatusCode int
	Header     http.Header
	// QuotaExceeded marks a 429 whose body has error.type "quota_exceeded":
	// a plan's allowance, not a rate limit, so it pauses nothing.
	QuotaExceeded bool
}

// Done completes the call tk admitted. It reads what the response proves
// about the server's buckets, assuming only this of the network: the server
// charged the call somewhere between its send and now, metered calls in any
// order, and the Remaining it reports is the floor of the level just after
// it metered this call, counting every call metered before it.
//
//   - Settle: a bucket the server held full earned no refill before the
//     call reached it, so the refill the mirror credited since admission is
//     taken back where it would pass the limit; a rate-limit 429 gives the
//     call's cost back, since the server did not charge it.
//   - Resync each window a response names (see Reading): the level is at
//     least Remaining less what the server may not have counted yet (this
//     client's calls still in flight and those answered since this one was
//     sent), and was less than Remaining + 1 when the call was metered. A
//     level the answer proves too high was counting on tokens another
//     consumer took: it is lowered, and the drift estimate learns the
//     excess; a level below what the answer proves is raised. Nothing
//     depends on the order in which answers come back.
//   - Learn: a Limit that differs from the policy's replaces it for that
//     window, the window not shown holds at least what the shown one does,
//     and the answer may measure the route's price (see costBook).
//   - Pause: a rate-limit 429 holds every caller until Retry-After.
//
// The store sees all of it as one Answer (one round trip for a shared
// store). Malformed headers are ignored and counted in Stats. Hooks run
// after the lock is released.
func (t *Throttle) Done(tk Ticket, o Outcome) {
	wallNow := time.Now()
	r := readOutcome(o, wallNow)

	t.mu.Lock()
	now := wallNow.Sub(t.epoch)
	t.count(r)
	wasSynced := t.store.Synced()
	lowerings, raised, adopted := t.lowerings, t.stats.Raised, t.stats.LimitsAdopted
	t.adoptLimits(now, r)
	inflight := t.inflight
	t.inflight = t.inflight.Sub(tk.cost)
	t.inflightN--
	readings, shown := t.readings(now, tk, r, t.readBuf[:0])
	a := Answer{Cost: tk.cost, Inflight: inflight, Refund: r.rateLimited, Readings: readings, Synced: len(readings) > 0}
	if r.rateLimited {
		a.Pause = r.retryAfter
	}
	moved := t.movedBuf[:len(readings)]
	t.store.Answer(now, a, moved)
	var eb [4]ResyncEvent
	events := t.learnLevels(now, tk, r, readings, shown, moved, wasSynced, eb[:0])
	prices := t.costs.changes
	t.learnCost(now, tk, r, t.lowerings != lowerings)
	repriced := t.costs.changes != prices
	if repriced {
		t.repriceQueued()
	}
	if !r.rateLimited {
		t.charged = t.charged.Add(tk.cost)
	}
	var pausedUntil time.Time
	if r.rateLimited {
		t.stats.Pauses++
		pausedUntil = wallNow.Add(r.retryAfter)
	}
	if t.mayHaveFreed(raised != t.stats.Raised || adopted != t.stats.LimitsAdopted || repriced, wasSynced) {
		t.wakeHeadLocked(now)
	}
	t.mu.Unlock()

	t.notify(events, pausedUntil)
}

// mayHaveFreed reports whether the answer Done just read may let the head
// of the line go sooner than its timer says: it raised a level, changed a
// limit or a price (changed), ended cold start, freed room in flight that
// the head was waiting for, or may have shrunk the drift reserve. Any
// other answer wakes nobody: a queue drained by the refill is not woken
// once per Done.
func (t *Throttle) mayHaveFreed(changed, wasSynced bool) bool {
	freed := changed || t.flightFull || !wasSynced || t.drift.active
	t.flightFull = false
	return freed
}

// response is what Done reads from an Outcome before taking the lock.
type response struct {
	status      headers.Status
	rateLimited bool          // a rate-limit 429: not charged, pauses callers
	quota       bool          // a quota 429
	retryAfter  time.Duration // the pause, when rateLimited
	malformed   bool          // rate headers or Retry-After unusable
}

func readOutcome(o Outcome, wallNow time.Time) response {
	if !o.Responded {
		return response{}
	}
	r := response{quota: o.QuotaExceeded}
	var err error
	r.status, err = headers.Parse(o.Header)
	r.malformed = err != nil
	if o.StatusCode == http.StatusTooManyRequests && !o.QuotaExceeded {
		r.rateLimited = true
		wait, ok, err := headers.ParseRetryAfter(o.Header, wallNow)
		r.malformed = r.malformed || err != nil
		r.retryAfter = wait
		if !ok || err != nil {
			r.retryAfter = DefaultRetryAfter
		}
	}
	return r
}

func (t *Throttle) count(r response) {
	if r.malformed {
		t.stats.MalformedHeaders++
	}
	if r.rateLimited {
		t.stats.RateLimited++
	}
	if r.quota {
		t.stats.QuotaExceeded++
	}
}

// adoptLimits learns the limits the response shows: a Limit that differs
// from the policy's replaces it for that window, and the window of the same
// kind that it does not show, which holds at least as many tokens as the
// one shown (the headers show the most constrained), holds at least
// Remaining: its limit is raised to that if below.
func (t *Throttle) adoptLimits(now time.Duration, r response) {
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws, i := t.shown(r, k)
		if i < 0 {
			continue
		}
		if ws.Limit != t.policy.Buckets[i].Limit {
			t.adoptLimit(now, i, ws.Limit)
		}
		for j, b := range t.policy.Buckets {
			if b.Kind == k && b.Window != ws.Window && ws.Remaining > b.Limit {
				t.adoptLimit(now, j, ws.Remaining)
			}
		}
	}
}

// readings builds what the response proves of each bucket (see Reading),
// appended to buf: for each kind, the window shown, and the other window
// of the kind, raised to at least the shown one's floor (never lowered by
// it). shown[i] is the window state reading i stands for (Remaining of
// the shown window, for a hidden one too); only a shown window's Limit
// equals that of its headers. A reading may raise a level unless a
// response proved another consumer's spending since tk's call was sent:
// the answer may predate it.
func (t *Throttle) readings(now time.Duration, tk Ticket, r response, buf []BucketReading) (_ []BucketReading, shown [4]headers.WindowState) {
	flight := now - tk.at
	raise := tk.lowerings == t.lowerings
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws, i := t.shown(r, k)
		if i < 0 {
			continue
		}
		// Answered since tk was sent, they may have been metered after it; and
		// others may have spent over the flight, at the rate drift estimates.
		unseen := t.inflight.Of(k) + t.charged.Of(k) - tk.charged.Of(k) + t.drift.over(k, flight)
		floor := ws.Remaining - unseen
		shown[len(buf)] = ws
		buf = append(buf, BucketReading{Kind: k, Window: ws.Window, Reading: Reading{Floor: floor, Ceil: ws.Remaining + 1, Slack: flight, Raise: raise}})
		for _, b := range t.policy.Buckets {
			if b.Kind == k && b.Window != ws.Window {
				shown[len(buf)] = headers.WindowState{Window: b.Window, Limit: b.Limit, Remaining: ws.Remaining}
				buf = append(buf, BucketReading{Kind: k, Window: b.Window, Reading: Reading{Floor: floor, Ceil: math.MaxInt64, Raise: raise}})
			}
		}
	}
	return buf, shown
}

// learnLevels reads what the store did with each reading: a lowered shown
// window proves another consumer spent (the drift estimate learns how
// much, once the first answer has told what others left before this client
// started), and every move is counted and appended to events.
func (t *Throttle) learnLevels(now time.Duration, tk Ticket, r response, readings []BucketReading, shown [4]headers.WindowState, moved []Moved, wasSynced bool, events []ResyncEvent) []ResyncEvent {
	lowered := false
	for j, rd := range readings {
		m, ws := moved[j], shown[j]
		if !m.Found {
			continue
		}
		if rd.Ceil != math.MaxInt64 { // the window shown
			lowered = lowered || m.After < m.Before
			if wasSynced {
				spent := m.Before - m.After // proven: only a proof lowers; raises give back the proofs' pessimism
				if r.rateLimited {          // the server had less than the call needed
					spent = max(spent, float64(tk.cost.Of(rd.Kind)-ws.Remaining))
				}
				t.drift.observe(rd.Kind, spent, tk.at, now)
			}
		}
		events = t.moved(events, rd.Kind, ws, m.Before, m.After)
	}
	if lowered {
		t.lowerings++
	}
	return events
}

// repriceQueued gives the calls still queued the prices learned since they
// queued: a mem-it waiting for 40 tokens after a 429 proved it costs 60
// would meet a second 429.
func (t *Throttle) repriceQueued() {
	t.queue.reprice(func(w *waiter) Cost {
		if w.route == 0 {
			return w.cost
		}
		return t.costs.costOf(w.route, w.cost)
	})
}

// learnCost gives the cost book what the response tells of tk's price
// (provedOthers: the response proved another consumer spent). A
// measurement is clean when the call was alone in flight from send to
// answer and no recent proof came from an answer to a call that was not
// alone: such a proof cannot be one route's price change.
func (t *Throttle) learnCost(now time.Duration, tk Ticket, r response, provedOthers bool) {
	alone := tk.alone && t.seq == tk.seq
	if provedOthers && !alone {
		t.othersSeen = now
	}
	clean := t.ownStore && alone && (t.othersSeen == 0 || now-t.othersSeen > t.drift.horizon())
	var rate [2]float64
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws, i := t.shown(r, k)
		if i < 0 {
			continue
		}
		b := t.policy.Buckets[i]
		rate[k] = float64(b.Limit) / float64(b.Period)
		if !r.rateLimited {
			t.costs.measure(k, measurement{tk: tk, ws: ws, alone: alone, clean: clean, rate: rate[k], now: now})
		}
	}
	if r.rateLimited {
		t.costs.refused(tk, r.status, r.retryAfter, rate, t.capacity)
	}
}

// moved counts a resync that moved a level and appends its event.
func (t *Throttle) moved(events []ResyncEvent, k headers.Kind, ws headers.WindowState, before, after float64) []ResyncEvent {
	if after == before {
		return events
	}
	if after < before {
		t.stats.Lowered++
	} else {
		t.stats.Raised++
	}
	return append(events, ResyncEvent{Kind: k, Window: ws.Window, Remaining: ws.Remaining, Before: before, After: after})
}

// adoptLimit makes limit the capacity of policy bucket i, when it is one the
// bucket math can hold and the store can change (see Store.Adopt): the
// server is authoritative, whether it lowers a limit or raises it. A limit
// below 1, or too large for the bucket's period, is ignored and counted as
// malformed.
func (t *Throttle) adoptLimit(now time.Duration, i int, limit int64) {
	b := t.policy.Buckets[i]
	b.Limit = limit
	if limit < 1 || limit > maxScaled/unitsPerToken(b) {
		t.stats.MalformedHeaders++
		return
	}
	if !t.store.Adopt(now, b.Kind, b.Window, limit) {
		return
	}
	t.policy.Buckets[i] = b
	t.capacity = t.policy.capacity()
	t.drift.limit[b.Kind] = float64(t.capacity.Of(b.Kind)) / 4
	t.stats.LimitsAdopted++
}

func (t *Throttle) notify(events []ResyncEvent, pausedUntil time.Time) {
	if t.hooks.OnResync != nil {
		for _, e := range events {
			t.hooks.OnResync(e)
		}
	}
	if !pausedUntil.IsZero() && t.hooks.OnPause != nil {
		t.hooks.OnPause(pausedUntil)
	}
}

// shown returns the window of kind k that r reports and the index of its
// policy bucket (-1 when r reports none, or a window the policy lacks).
func (t *Throttle) shown(r response, k headers.Kind) (headers.WindowState, int) {
	ws := r.status.Of(k)
	if !ws.Present() {
		return ws, -1
	}
	return ws, t.bucketIndex(k, ws.Window)
}

func (t *Throttle) bucketIndex(k headers.Kind, w headers.Window) int {
	for i, b := range t.policy.Buckets {
		if b.Kind == k && b.Window == w {
			return i
		}
	}
	return -1
}
