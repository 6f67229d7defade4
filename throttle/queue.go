package throttle

import (
	"iter"
	"slices"
	"time"
)

// waiter is a call waiting for tokens.
type waiter struct {
	cost     Cost
	route    uint64 // the cost book's key of the call, 0 if unknown
	priority Priority
	rank     int           // priority.rank()
	seq      uint64        // its place in arrival order
	wake     chan struct{} // capacity 1: "look again"
	// latest is, once the waiter is at the head and short of tokens, the
	// latest admission that calls passing it may push it to (see backfill).
	latest time.Duration
	// admitted is set, with ticket, when a call passed the head (backfill),
	// or, with a remote store, when the lane admitted it; passed is set
	// with it when the call passed a waiting head.
	admitted, passed bool
	ticket           Ticket
	// With a remote store (see lane): err is set when the call fails in
	// line, tried once an exchange tried it and did not admit it, gone once
	// its caller left; deadline is when its context ends.
	err         error
	tried, gone bool
	deadline    time.Time // the context's, zero if none

	group      *group // the line it waits in; nil once out of the queue
	prev, next *waiter
}

// group is a FIFO line of the waiters of one priority and one cost. Calls
// of equal cost and priority are interchangeable to the buckets, so only a
// group's first waiter ever needs asking whether it fits.
type group struct {
	cost        Cost
	first, last *waiter
}

// class holds the waiters of one priority, in a few groups (one per cost).
type class struct {
	groups []*group
	n      int
	total  Cost // the cost of all its waiters
	// served is when a call of the class was last admitted, or when it
	// began to wait if later: the class starves from then on.
	served time.Duration
}

// queue holds the calls waiting for tokens, by priority and cost. Every
// operation costs O(1) in the number of waiters (O(groups) at most, and a
// class has one group per distinct cost waiting: a handful), except
// reordering after a price change.
type queue struct {
	classes [len(priorities)]class
	n       int
	seq     uint64
	// starve is how long a class may wait with no call admitted before it
	// goes ahead of the classes served before it (see WithMaxStarvation).
	starve time.Duration
	// spare holds emptied lines for reuse: a lone caller's every call
	// opens a line and closes it.
	spare spares[group]
}

// maxSpareGroups bounds the emptied lines a queue keeps.
const maxSpareGroups = 8

func (q *queue) len() int { return q.n }

// push adds w at the end of its priority and cost's line.
func (q *queue) push(w *waiter, now time.Duration) {
	q.seq++
	w.seq = q.seq
	if c := &q.classes[w.rank]; c.n == 0 {
		c.served = now // it starts to wait
	}
	q.insert(w)
}

// insert adds w at the end of its line, keeping its seq.
func (q *queue) insert(w *waiter) {
	c := &q.classes[w.rank]
	g := q.group(c, w.cost)
	w.group, w.prev, w.next = g, g.last, nil
	if g.last != nil {
		g.last.next = w
	} else {
		g.first = w
	}
	g.last = w
	c.n++
	c.total = c.total.Add(w.cost)
	q.n++
}

// group returns c's line for cost, opened if there is none.
func (q *queue) group(c *class, cost Cost) *group {
	for _, g := range c.groups {
		if g.cost == cost {
			return g
		}
	}
	g := q.spare.take()
	if g == nil {
		g = new(group)
	}
	g.cost = cost
	c.groups = append(c.groups, g)
	return g
}

// remove takes w out of the queue (it was admitted, or gave up).
func (q *queue) remove(w *waiter) {
	g := w.group
	if g == nil {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		g.first = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		g.last = w.prev
	}
	c := &q.classes[w.rank]
	if g.first == nil { // the line is empty: close it
		c.groups = slices.DeleteFunc(c.groups, func(x *group) bool { return x == g })
		*g = group{}
		q.spare.keep(g, maxSpareGroups)
	}
	w.group, w.prev, w.next = nil, nil, nil
	c.n--
	c.total = c.total.Sub(w.cost)
	q.n--
}

// served records that a call of rank r was admitted at now.
func (q *queue) served(r int, now time.Duration) { q.classes[r].served = now }

// head returns the waiter that the next tokens are for: the first, in
// arrival order, of the class served first, unless a class served later
// has waited past the starvation bound with no call admitted (the one that
// has waited longest then). It returns nil when nobody waits.
func (q *queue) head(now time.Duration) *waiter {
	r := q.headClass(now)
	if r < 0 {
		return nil
	}
	return q.classes[r].first()
}

func (q *queue) headClass(now time.Duration) int {
	best := -1
	for r := range q.classes {
		c := &q.classes[r]
		if c.n == 0 {
			continue
		}
		if best < 0 {
			best = r
			continue
		}
		if now-c.served >= q.starve && c.served < q.classes[best].served {
			best = r
		}
	}
	return best
}

// first returns the class's earliest arrival.
func (c *class) first() *waiter {
	var w *waiter
	for _, g := range c.groups {
		if w == nil || g.first.seq < w.seq {
			w = g.first
		}
	}
	return w
}

// nextStarving returns how long until a class waiting behind rank r's
// starts to starve and so takes the head from it (0: none will by time
// alone; admissions change the order too, and wake the head).
func (q *queue) nextStarving(now time.Duration, r int) time.Duration {
	var next time.Duration
	for i := range q.classes {
		c := &q.classes[i]
		if i == r || c.n == 0 || c.served >= q.classes[r].served {
			continue
		}
		if d := c.served + q.starve - now; d > 0 {
			next = minPositive(next, d)
		}
	}
	return next
}

// lines returns the first waiter of every line (the second of head's), in
// the order backfill considers them: by priority, then arrival. It appends to
// buf, which usually avoids allocating.
func (q *queue) lines(head *waiter, buf []*waiter) []*waiter {
	for r := range q.classes {
		start := len(buf)
		for _, g := range q.classes[r].groups {
			w := g.first
			if w == head {
				w = w.next
			}
			if w != nil {
				buf = append(buf, w)
			}
		}
		slices.SortFunc(buf[start:], func(a, b *waiter) int { return compareSeq(a.seq, b.seq) })
	}
	return buf
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// from yields head, then every other waiter in the order they are served
// (by priority, then arrival), merging each class's lines.
func (q *queue) from(head *waiter) iter.Seq[*waiter] {
	return func(yield func(*waiter) bool) {
		if !yield(head) {
			return
		}
		var buf [8]*waiter
		for r := range q.classes {
			cur := buf[:0]
			for _, g := range q.classes[r].groups {
				cur = append(cur, g.first)
			}
			for {
				best := -1
				for i, w := range cur {
					if w == head {
						w = w.next
						cur[i] = w
					}
					if w != nil && (best < 0 || w.seq < cur[best].seq) {
						best = i
					}
				}
				if best < 0 {
					break
				}
				w := cur[best]
				cur[best] = w.next
				if !yield(w) {
					return
				}
			}
		}
	}
}

// aheadOf returns the cost of every call queued in rank r's class or a
// class served before it: what a call of rank r waits behind.
func (q *queue) aheadOf(r int) Cost {
	var total Cost
	for i := 0; i <= r; i++ {
		total = total.Add(q.classes[i].total)
	}
	return total
}

// all returns every waiter, by priority and then arrival.
func (q *queue) all() []*waiter {
	ws := make([]*waiter, 0, q.n)
	for r := range q.classes {
		start := len(ws)
		for _, g := range q.classes[r].groups {
			for w := g.first; w != nil; w = w.next {
				ws = append(ws, w)
			}
		}
		slices.SortFunc(ws[start:], func(a, b *waiter) int { return compareSeq(a.seq, b.seq) })
	}
	return ws
}

// reprice gives each waiter the cost that price returns for it, and puts it
// in the line of its new cost, keeping arrival order (after prices change:
// rare, so it may cost O(n log n)).
func (q *queue) reprice(price func(*waiter) Cost) {
	ws := q.all()
	for _, w := range ws {
		q.remove(w)
	}
	for _, w := range ws {
		w.cost = price(w)
		q.insert(w)
	}
}

// lengths returns how many calls wait at each priority.
func (q *queue) lengths() QueueLengths {
	return QueueLengths{
		Interactive: q.classes[Interactive.rank()].n,
		Default:     q.classes[Default.rank()].n,
		Batch:       q.classes[Batch.rank()].n,
	}
}

// QueueLengths counts the calls waiting for tokens, by priority.
type QueueLengths struct {
	Interactive int // calls waiting at Interactive priority
	Default     int // at Default priority (the context carries none)
	Batch       int // at Batch priority
}
