package throttle

import (
	"context"
	"slices"
	"time"
)

// lane runs a remote store's calls for one Throttle (any store but the
// in-memory one): a goroutine of the throttle's own, alive while calls wait
// or answers are to be applied, makes one Exchange at a time without the
// throttle's lock, and puts into each what came in meanwhile: every answer
// ready, the tokens to give back, and the queue's wake. Waiting callers and
// Done never do I/O themselves; they hand their work to the lane and wait
// for it. So nothing waits for the network with the lock held, and a busy
// throttle makes one round trip per batch, not per call. The fields are
// guarded by Throttle.mu.
type lane struct {
	running bool
	// busy is set while an exchange is under way: a call that queues then
	// is in no batch yet, so it asks for another round.
	busy bool
	kick chan struct{} // capacity 1: "run another round"
	// dones are the answers waiting for the next round; a round takes the
	// list and leaves spareDones, the list it took last time, emptied.
	dones, spareDones []*pendingDone
	give              Cost // reservations to give back: callers gone once admitted
	// synced, levels (at levelsAt) and pausedUntil are what the last
	// exchange and answers said: for the cold-start rule and for deadline
	// estimates, without a round trip.
	synced      bool
	levels      []float64
	levelsAt    time.Duration
	known       bool
	pausedUntil time.Duration
	// spareW and spareD are waiters and answers for reuse (see newWaiter).
	spareW spares[waiter]
	spareD spares[pendingDone]
	// x and batch are the exchange being built and the waiters it tries,
	// reused from round to round.
	x     Exchange
	batch []*waiter
}

// atOnce is the sleep that sends the lane round again without waiting.
const atOnce = -1

// laneBatch bounds the calls one exchange tries: enough for every caller
// of a busy process at once, few enough that a wake stays cheap when the
// head is short of tokens.
const laneBatch = 64

// pendingDone is a Done waiting for its answer to be applied.
type pendingDone struct {
	doneCall
	readings [4]BucketReading
	moved    [4]Moved
	eventBuf [4]ResyncEvent
	events   []ResyncEvent
	applied  chan struct{}
}

func (l *lane) init(p Policy) {
	l.kick = make(chan struct{}, 1)
	l.levels = make([]float64, len(p.Buckets))
	l.x.Levels = make([]float64, len(p.Buckets))
}

// wakeLaneLocked makes sure a round runs soon: it starts the lane's
// goroutine, or tells the running lane to go round again.
func (t *Throttle) wakeLaneLocked() {
	if !t.lane.running {
		t.lane.running = true
		go t.serveLane(atOnce)
		return
	}
	t.kickLaneLocked()
}

func (t *Throttle) kickLaneLocked() {
	select {
	case t.lane.kick <- struct{}{}:
	default:
	}
}

// runLaneLocked is wakeLaneLocked for Done, which waits for the round
// anyway and has no context to give up on: when the lane is idle, Done's
// caller runs the round itself, which spares a lone caller two goroutine
// switches per call, and hands what is left to the lane's goroutine. (Wait
// does not: its caller must be free to give up while a round trip is under
// way.) It releases t.mu.
func (t *Throttle) runLaneLocked() {
	if t.lane.running {
		t.kickLaneLocked()
		t.mu.Unlock()
		return
	}
	t.lane.running = true
	t.mu.Unlock()
	if sleep, more := t.round(); more {
		go t.serveLane(sleep)
	}
}

// serveLane runs rounds until no call waits and no answer is pending,
// sleeping between them (first for sleep) until a kick or until the head's
// tokens are due.
func (t *Throttle) serveLane(sleep time.Duration) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if sleep != atOnce {
			select {
			case <-t.lane.kick:
			case <-arm(&timer, sleep):
			}
		}
		var more bool
		if sleep, more = t.round(); !more {
			return
		}
	}
}

// round is one Exchange: the pending answers (limits they report are
// adopted first), the tokens to give back and the queue's wake. It returns
// how long to sleep before the next round unless kicked (0: until kicked),
// and false when the lane has stopped (nothing left to do).
func (t *Throttle) round() (time.Duration, bool) {
	ctx := context.Background()
	t.mu.Lock()
	dones := t.lane.dones
	t.lane.dones, t.lane.spareDones = t.lane.spareDones, nil
	if len(dones) == 0 && t.laneDoneLocked() {
		t.lane.spareDones = dones
		t.mu.Unlock()
		return 0, false
	}
	now := t.now()
	wanted := t.beginAnswers(now, dones)
	t.mu.Unlock()

	adopted := t.adoptRemote(ctx, now, wanted)

	t.mu.Lock()
	for _, b := range adopted {
		t.limitAdopted(b)
	}
	x := &t.lane.x
	x.Answers = slices.Grow(x.Answers[:0], len(dones))[:len(dones)]
	for i, d := range dones {
		t.openAnswer(now, &d.doneCall, &x.Answers[i], d.readings[:0], d.moved[:])
	}
	x.Give, t.lane.give = t.lane.give, Cost{}
	t.buildAdmission(now)
	t.lane.busy = true
	t.mu.Unlock()

	err := t.store.Exchange(ctx, now, x)

	t.mu.Lock()
	t.lane.busy = false
	t.lane.synced = x.Synced
	t.lane.levelsAt, t.lane.known = now, true
	copy(t.lane.levels, x.Levels)
	for i, d := range dones {
		d.events = t.closeAnswer(now, &d.doneCall, &x.Answers[i], d.eventBuf[:0])
		if d.r.rateLimited {
			t.lane.pausedUntil = max(t.lane.pausedUntil, now+d.r.retryAfter)
		}
	}
	sleep := t.applyAdmission(now, err)
	if err != nil {
		t.stats.StoreErrors++
	}
	idle := t.laneDoneLocked()
	for _, d := range dones {
		d.applied <- struct{}{} // the round touches d no more (its Done waits for t.mu)
	}
	clear(dones)
	t.lane.spareDones = dones[:0]
	t.mu.Unlock()

	if err != nil && t.hooks.OnStoreError != nil {
		t.hooks.OnStoreError(err)
	}
	return sleep, !idle
}

// laneDoneLocked stops the lane when nothing is left for it to do: no
// answer pending, no call waiting, nothing to give back. t.mu is held.
func (t *Throttle) laneDoneLocked() bool {
	if len(t.lane.dones) > 0 || t.queue.len() > 0 || t.lane.give != (Cost{}) {
		return false
	}
	t.lane.running = false
	return true
}

// beginAnswers counts the pending answers and lists the limits they report
// that differ from the policy's (see adoptLimits), with t.mu held.
func (t *Throttle) beginAnswers(now time.Duration, dones []*pendingDone) []Bucket {
	var wanted []Bucket
	for _, d := range dones {
		t.count(&d.r)
		d.begin(t)
		t.adoptLimits(now, &d.r, func(_ time.Duration, b Bucket) bool {
			wanted = append(wanted, b)
			return false // adopted by adoptRemote, without the lock
		})
	}
	return wanted
}

// adoptRemote asks the store to adopt each limit, without the lock, and
// returns those it did. A limit changes rarely: this costs nothing usually.
func (t *Throttle) adoptRemote(ctx context.Context, now time.Duration, wanted []Bucket) []Bucket {
	var adopted []Bucket
	for _, b := range wanted {
		ok, err := t.store.Adopt(ctx, now, b.Kind, b.Window, b.Limit)
		if err != nil {
			t.mu.Lock()
			t.stats.StoreErrors++
			t.mu.Unlock()
		}
		if ok {
			adopted = append(adopted, b)
		}
	}
	return adopted
}

// buildAdmission fills the exchange's Admission from the queue, with t.mu
// held: the head and the calls after it in the order they are served, at
// most laneBatch; only the head in cold start, and none while a call is in
// flight then. A head that costs more than a bucket now holds fails with a
// *CostError; one that does not fit in flight waits for an answer.
func (t *Throttle) buildAdmission(now time.Duration) {
	a := &t.lane.x.Admit
	a.Calls, a.Latest = a.Calls[:0], 0
	t.flightFull = false
	batch := t.lane.batch[:0]
	defer func() { t.lane.batch = batch }()
	head := t.costlyHeads(now)
	if head == nil || !t.mayAdmit() {
		return
	}
	a.Room = t.capacity.Sub(t.inflight)
	if !head.cost.Within(a.Room) {
		t.flightFull = true
		return
	}
	a.Latest = head.latest
	n := laneBatch
	if !t.synced() && !t.lane.x.syncs() {
		n = 1
	}
	var groups [8]*group
	lines := groups[:0]
	for w := range t.queue.from(head) {
		if len(batch) == n {
			break
		}
		line := -1
		for i, g := range lines {
			if g == w.group {
				line = i
			}
		}
		if line < 0 {
			line = len(lines)
			lines = append(lines, w.group)
		}
		a.Calls = append(a.Calls, Call{Cost: w.cost, Headroom: t.headroom(now, w.cost, w.rank), Line: line})
		batch = append(batch, w)
	}
}

// costlyHeads returns the head of the line after failing every head that
// costs more than a bucket now holds (a limit fell below its cost).
func (t *Throttle) costlyHeads(now time.Duration) *waiter {
	for {
		w := t.queue.head(now)
		if w == nil || w.cost.Within(t.capacity) {
			return w
		}
		t.queue.remove(w)
		w.err = &CostError{Cost: w.cost, Capacity: t.capacity}
		wake(w)
	}
}

// applyAdmission admits the calls the exchange admitted, with t.mu held,
// and returns how long until the next round (0: until kicked).
func (t *Throttle) applyAdmission(now time.Duration, err error) time.Duration {
	a := &t.lane.x.Admit
	head, admitted := t.admitBatch(now)
	tried, full := len(t.lane.batch) > 0, len(t.lane.batch) == laneBatch
	clear(t.lane.batch)
	t.lane.batch = t.lane.batch[:0]
	t.flightFull = t.flightFull || a.RoomShort
	if head == nil {
		return t.laneIdle(tried)
	}
	if !head.gone {
		head.latest = a.Latest
	}
	if t.pastDeadline(now, head, a.Wait) || full && admitted > 0 {
		return atOnce // a new head, or calls beyond the batch that may pass
	}
	sleep := minPositive(a.Wait, a.Next)
	sleep = minPositive(sleep, t.queue.nextStarving(now, head.rank))
	sleep = minPositive(sleep, t.reserveRelease(now, head.rank))
	if t.lane.give != (Cost{}) {
		return atOnce // gone callers' tokens to give back
	}
	if t.flightFull || err != nil && sleep == 0 {
		return minPositive(sleep, answerWait) // an answer wakes it sooner; a failed store is tried again
	}
	return sleep
}

// admitBatch admits the calls of the batch that the exchange admitted,
// with t.mu held, and returns the first call it did not admit (the head
// now; nil if none) and how many it admitted. A caller that left while its
// call was being admitted has its tokens given back in the next round.
func (t *Throttle) admitBatch(now time.Duration) (head *waiter, admitted int) {
	for i, w := range t.lane.batch {
		c := t.lane.x.Admit.Calls[i]
		if !c.Admitted {
			w.tried = true
			if head == nil {
				head = w
			}
			continue
		}
		if w.gone {
			t.lane.give = t.lane.give.Add(c.Cost)
			continue
		}
		admitted++
		t.queue.remove(w)
		w.ticket, w.admitted, w.passed = t.admit(now, c.Cost, w.route, w.rank), true, head != nil
		if w.passed {
			t.stats.Backfilled++
		}
		wake(w)
	}
	return head, admitted
}

// laneIdle is how long the lane sleeps after a round that left no call
// waiting for tokens: it goes again at once when it admitted every call it
// tried and others wait, or gives back tokens; it waits for an answer when
// the calls wait for room in flight or for cold start to end.
func (t *Throttle) laneIdle(tried bool) time.Duration {
	switch {
	case t.lane.give != (Cost{}) || tried && t.queue.len() > 0:
		return atOnce
	case t.queue.len() > 0 && t.flightFull:
		return answerWait
	}
	return 0 // a kick (an answer, an arrival) starts the next round
}

// pastDeadline fails the head w when the wait the store reports for it
// (its tokens and any pause, not counting the calls that may pass it) ends
// at or after its context's deadline, as Wait does for a call with the
// in-memory store, and reports whether it did.
func (t *Throttle) pastDeadline(now time.Duration, w *waiter, wait time.Duration) bool {
	if w.gone || w.deadline.IsZero() || wait <= 0 || t.epoch.Add(now+wait).Before(w.deadline) {
		return false
	}
	t.queue.remove(w)
	w.err = &DeadlineError{Cost: w.cost, Wait: wait}
	t.stats.DeadlineFailures++
	wake(w)
	return true
}

// syncs reports whether one of x's answers ends cold start: the admission
// that follows them in the same exchange need not.
func (x *Exchange) syncs() bool {
	for _, a := range x.Answers {
		if a.Synced {
			return true
		}
	}
	return false
}

// waitRemote is waitLocked for a throttle whose store is remote: the call
// queues and the lane admits it. It releases t.mu.
func (t *Throttle) waitRemote(ctx context.Context, c Cost, route uint64, p Priority) (Ticket, error) {
	if err := ctx.Err(); err != nil {
		t.mu.Unlock()
		return Ticket{}, err
	}
	rank := p.rank()
	if err := t.checkDeadline(ctx, c, rank); err != nil {
		t.stats.DeadlineFailures++
		t.mu.Unlock()
		return Ticket{}, err
	}
	start := time.Now()
	w := t.lane.newWaiter()
	w.cost, w.route, w.priority, w.rank = c, route, p, rank
	w.deadline, _ = ctx.Deadline()
	t.queue.push(w, t.now())
	if w.prev == nil || t.lane.busy { // it may go now, or pass the head
		t.wakeLaneLocked()
	}
	t.mu.Unlock()
	for {
		select {
		case <-w.wake:
		case <-ctx.Done():
			t.cancelRemote(w)
			return Ticket{}, ctx.Err()
		}
		t.mu.Lock()
		if err := w.err; err != nil {
			t.lane.freeWaiter(w)
			t.mu.Unlock()
			return Ticket{}, err
		}
		if !w.admitted {
			t.mu.Unlock()
			continue
		}
		waited := time.Since(start)
		if w.tried {
			t.stats.Waits++
			t.stats.WaitTime += waited
		}
		tk, tried, pr := w.ticket, w.tried, w.priority
		t.lane.freeWaiter(w)
		t.mu.Unlock()
		if tried && t.hooks.OnWait != nil {
			t.hooks.OnWait(WaitEvent{Cost: tk.cost, Priority: pr, Waited: waited})
		}
		return tk, nil
	}
}

// laneSpares bounds the waiters and answers a lane keeps for reuse.
const laneSpares = 256

// newWaiter and newDone return what a call through the lane needs (a
// waiter, an answer waiting to be applied, each with its channel), reused
// from earlier calls, so that a busy throttle's calls cost the lane no
// allocation; t.mu is held. They are kept per throttle, not in a global
// pool, since a channel belongs to the synctest bubble it was made in.
func (l *lane) newWaiter() *waiter {
	if w := l.spareW.take(); w != nil {
		return w
	}
	return &waiter{wake: make(chan struct{}, 1)}
}

// freeWaiter takes back a waiter that the lane can no longer see: admitted
// or failed by the lane under the lock, which left it in no queue and no
// batch. (A caller that gave up leaves its waiter to the collector: a
// round under way may still hold it.) t.mu is held.
func (l *lane) freeWaiter(w *waiter) {
	wake := w.wake
	select {
	case <-wake: // a wake the waiter did not need
	default:
	}
	*w = waiter{wake: wake}
	l.spareW.keep(w, laneSpares)
}

func (l *lane) newDone() *pendingDone {
	if d := l.spareD.take(); d != nil {
		return d
	}
	return &pendingDone{applied: make(chan struct{}, 1)}
}

// freeDone takes back an answer once its Done has read it; t.mu is held.
func (l *lane) freeDone(d *pendingDone) {
	*d = pendingDone{applied: d.applied}
	l.spareD.keep(d, laneSpares)
}

// cancelRemote takes w out of the queue when its context ended. A call
// already admitted is undone: its tokens go back in the next round, as do
// those of a call that the round under way admits (it is gone by then).
func (t *Throttle) cancelRemote(w *waiter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.gone = true
	if w.admitted {
		t.lane.give = t.lane.give.Add(w.ticket.cost)
		t.unadmit(w)
	}
	t.queue.remove(w)
	t.stats.Cancelled++
	t.wakeLaneLocked()
}

// doneRemote is Done for a throttle whose store is remote: the answer goes
// into the lane's next exchange, and Done returns once it is applied.
func (t *Throttle) doneRemote(tk Ticket, r *response) {
	t.mu.Lock()
	p := t.lane.newDone()
	p.doneCall = doneCall{tk: tk, r: *r}
	t.lane.dones = append(t.lane.dones, p)
	t.runLaneLocked()
	<-p.applied
	t.notify(p.events, p.pausedUntil)
	t.mu.Lock()
	t.lane.freeDone(p)
	t.mu.Unlock()
}

// levels returns every bucket's level at now and the pause in force, for
// estimates: the in-memory store's, or as the remote store's last exchange
// left them, refilled since (false: no exchange yet). It does no I/O; t.mu
// is held.
func (t *Throttle) levels(now time.Duration) ([]BucketState, time.Duration, bool) {
	if t.mem != nil {
		states, paused := t.mem.state(now)
		return states, paused, true
	}
	if !t.lane.known {
		return nil, 0, false
	}
	out := make([]BucketState, len(t.policy.Buckets))
	for i, b := range t.policy.Buckets {
		level := min(float64(b.Limit), t.lane.levels[i]+b.refillOver(now-t.lane.levelsAt))
		out[i] = BucketState{Bucket: b, Level: level}
	}
	return out, t.lane.pausedUntil, true
}
