package throttle

import (
	"context"
	"time"
)

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
// calls queued ahead of it; a call that might have passed them is not
// counted on to), Wait fails at once with a *DeadlineError; when
// ctx ends while waiting, it returns ctx.Err() and has taken nothing.
//
// The fast path (tokens available, nobody waiting) takes one lock and does
// not allocate. A waiting call costs O(1) in the length of the queue. With
// a store other than the in-memory one, every call queues and the
// throttle's own goroutine admits it (see Store): one round trip, shared
// with the calls and answers that come meanwhile; a caller whose deadline
// falls before the wait that round trip reports fails then with a
// *DeadlineError.
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
	if now < 0 {
		t.mu.Unlock()
		return Ticket{}, ErrClockBehind
	}
	rank := p.rank()
	if rank == Interactive.rank() {
		t.lastInteractive = now
	}
	if t.mem == nil {
		return t.waitRemote(ctx, c, route, p)
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

// checkDeadline fails a call that cannot be admitted before ctx's deadline
// in line: the buckets must first refill what the calls queued ahead of it
// (at its priority or above) cost, and its own cost. Refill lost to a full
// bucket meanwhile is not counted, so no call that would wait its turn in
// time is refused; one that could only make it by passing the head of the
// line (see Wait) is.
func (t *Throttle) checkDeadline(ctx context.Context, c Cost, rank int) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	need := t.queue.aheadOf(rank).Add(c)
	states, paused, ok := t.levels(t.now())
	if !ok {
		return nil
	}
	est := max(0, paused-t.now())
	for _, s := range states {
		est = max(est, s.Bucket.refillTime(float64(need.Of(s.Kind))-s.Level))
	}
	if !time.Now().Add(est).Before(deadline) { // at the deadline, the context is done: too late to send
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
		if err := t.sleepInQueue(ctx, w, arm(&timer, sleep)); err != nil {
			return Ticket{}, err
		}
	}
}

// sleepInQueue waits for w's wake, for alarm (nil: none) or for ctx to end,
// and takes w out of the queue when ctx ended first. A waiter that is not
// the head, with a context that cannot end, waits on its wake alone: most
// waiters of a long queue, and a plain receive costs less than a select.
func (t *Throttle) sleepInQueue(ctx context.Context, w *waiter, alarm <-chan time.Time) error {
	done := ctx.Done()
	if alarm == nil && done == nil {
		<-w.wake
		return nil
	}
	select {
	case <-w.wake:
	case <-alarm:
	case <-done:
		t.cancel(w)
		return ctx.Err()
	}
	return nil
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
	if w.latest <= now { // first short of tokens, or its bound passed while others went first
		w.latest = now + backfillDelay*d
	}
	d = minPositive(d, t.backfillLocked(now, w))
	d = minPositive(d, t.queue.nextStarving(now, w.rank))
	d = minPositive(d, t.reserveRelease(now, w.rank))
	return d, nil
}

// arm returns a channel that fires after d, reusing *timer (made on first
// use), or nil, which never fires, when d is not positive: sleep until
// something else wakes the caller.
func arm(timer **time.Timer, d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	return (*timer).C
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
		t.mem.give(now, w.ticket.cost)
		t.unadmit(w)
	}
	t.queue.remove(w)
	t.stats.Cancelled++
	t.wakeHeadLocked(now) // the next in line may be able to go now
}

// unadmit takes the call w admitted out of flight and out of the counts,
// when its caller left before taking its ticket; the caller gives its
// tokens back to the store. t.mu is held.
func (t *Throttle) unadmit(w *waiter) {
	t.inflight = t.inflight.Sub(w.ticket.cost)
	t.inflightN--
	t.stats.Admitted--
	if w.passed {
		t.stats.Backfilled--
	}
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
	for len(lines) > 0 && t.mayAdmit() {
		x := lines[0]
		if d := t.take(now, x.cost, x.rank); d > 0 {
			next = minPositive(next, d)
			lines = lines[1:] // the rest of x's line costs the same
			continue
		}
		// Taking x lowered the levels, so the head still cannot go now;
		// this asks how long it must wait after x, for tokens and for room
		// in flight (x takes some).
		if hd := t.tokenWait(now, head); hd == 0 || now+hd > head.latest || !t.inflight.Add(x.cost).Add(head.cost).Within(t.capacity) {
			t.mem.give(now, x.cost)
			return 0 // x would delay the head too much: the rest go after it
		}
		y := x.next
		t.queue.remove(x)
		x.ticket, x.admitted, x.passed = t.admit(now, x.cost, x.route, x.rank), true, true
		t.stats.Backfilled++
		wake(x)
		lines = t.advanceLine(lines, y)
	}
	return next
}

// advanceLine replaces lines[0], just admitted, with y, the call that was
// next in its line (nil: none), kept in the order backfill considers them
// (rank, then arrival).
func (t *Throttle) advanceLine(lines []*waiter, y *waiter) []*waiter {
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
	return t.mem.take(now, c, t.headroom(now, c, rank))
}

// tokenWait is how long until the buckets hold what the head w needs,
// whatever is in flight; it charges nothing.
func (t *Throttle) tokenWait(now time.Duration, w *waiter) time.Duration {
	return t.mem.waitFor(now, w.cost.Add(t.headroom(now, w.cost, w.rank)))
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
	if r == (Cost{}) { // alone on the key, no reserve held: the fast path
		return r
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

// mayAdmit applies the rule of one call in flight at most: before the
// first resync (cold start), and while a probe measures a price.
func (t *Throttle) mayAdmit() bool { return t.inflightN == 0 || t.synced() && !t.probingPrice() }

// probingPrice reports whether a price probe is on (see probe; not the
// cold-start probe of Snapshot.Probing). A throttle on a shared store
// measures no price, so never probes one.
func (t *Throttle) probingPrice() bool { return t.ownStore && t.costs.probe.on() }

// synced reports whether a response has resynchronised the levels: as the
// in-memory store holds it, or as a remote store's last exchange said.
func (t *Throttle) synced() bool {
	if t.mem != nil {
		return t.mem.synced
	}
	return t.lane.synced
}

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
