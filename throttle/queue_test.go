package throttle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newWaiter(p Priority, c Cost) *waiter {
	return &waiter{cost: c, priority: p, rank: p.rank(), wake: make(chan struct{}, 1)}
}

// seqs lists the waiters' arrival numbers.
func seqs(ws []*waiter) []uint64 {
	var out []uint64
	for _, w := range ws {
		out = append(out, w.seq)
	}
	return out
}

func TestQueueServesByPriorityThenArrival(t *testing.T) {
	q := queue{starve: time.Minute}
	b1 := newWaiter(Batch, plain)
	d1 := newWaiter(Default, memIt)
	d2 := newWaiter(Default, plain)
	i1 := newWaiter(Interactive, plain)
	for _, w := range []*waiter{b1, d1, d2, i1} {
		q.push(w, 0)
	}
	assert.Equal(t, 4, q.len())
	assert.Equal(t, QueueLengths{Interactive: 1, Default: 2, Batch: 1}, q.lengths())
	assert.Same(t, i1, q.head(0))
	assert.Equal(t, []uint64{i1.seq, d1.seq, d2.seq, b1.seq}, seqs(q.all()))
	assert.Equal(t, memIt.Add(plain), q.classes[Default.rank()].total)
	assert.Equal(t, memIt.Add(plain).Add(plain), q.aheadOf(Default.rank()), "a default call waits behind interactive and default ones")

	q.remove(i1)
	assert.Same(t, d1, q.head(0), "the earliest default, whatever its cost")
	q.remove(d1)
	assert.Same(t, d2, q.head(0))
	assert.Len(t, q.classes[Default.rank()].groups, 1, "an empty line is dropped")
	q.remove(d2)
	q.remove(d2) // twice is harmless
	q.remove(b1)
	assert.Nil(t, q.head(0))
	assert.Zero(t, q.len())
	assert.Zero(t, q.aheadOf(Batch.rank()))
}

// TestQueueLinesKeepArrivalOrder: only each line's first waiter is
// offered to backfill, by priority and then arrival; removing from the
// middle of a line keeps the others in order.
func TestQueueLinesKeepArrivalOrder(t *testing.T) {
	q := queue{starve: time.Minute}
	var ws []*waiter
	for _, c := range []Cost{memIt, plain, plain, memIt, plain} {
		w := newWaiter(Default, c)
		q.push(w, 0)
		ws = append(ws, w)
	}
	b := newWaiter(Batch, plain)
	q.push(b, 0)
	i := newWaiter(Interactive, memIt)
	q.push(i, 0)

	assert.Equal(t, []uint64{ws[0].seq, ws[1].seq, b.seq}, seqs(q.lines(i, nil)), "the head's line offers its next, none here")
	assert.Equal(t, []uint64{i.seq, ws[1].seq, ws[3].seq, b.seq}, seqs(q.lines(ws[0], nil)))

	q.remove(ws[2])
	assert.Equal(t, []uint64{i.seq, ws[0].seq, ws[1].seq, ws[3].seq, ws[4].seq, b.seq}, seqs(q.all()))
	q.remove(ws[1])
	assert.Equal(t, []uint64{i.seq, ws[0].seq, ws[4].seq, b.seq}, seqs(q.lines(nil, nil)))
}

// TestQueueStarvation: a class with waiters and no admission for the
// bound takes the head from the classes served before it, until one of its
// calls is admitted.
func TestQueueStarvation(t *testing.T) {
	q := queue{starve: 10 * time.Second}
	b := newWaiter(Batch, plain)
	q.push(b, 0)
	i := newWaiter(Interactive, plain)
	q.push(i, time.Second)
	q.served(Interactive.rank(), 5*time.Second) // an interactive call went at 5 s

	assert.Same(t, i, q.head(9*time.Second))
	assert.Equal(t, time.Second, q.nextStarving(9*time.Second, Interactive.rank()), "batch has waited since 0")
	assert.Same(t, b, q.head(10*time.Second), "the batch waited 10 s with nothing admitted")
	assert.Zero(t, q.nextStarving(10*time.Second, Batch.rank()), "nothing behind the batch")
	assert.Zero(t, q.nextStarving(11*time.Second, Interactive.rank()),
		"already starving: time alone changes nothing more (no busy timer)")

	q.remove(b)
	q.served(Batch.rank(), 10*time.Second)
	b2 := newWaiter(Batch, plain)
	q.push(b2, 10*time.Second)
	assert.Same(t, i, q.head(10*time.Second), "served: batch waits its turn again")
	assert.Same(t, i, q.head(19*time.Second))
	assert.Same(t, i, q.head(30*time.Second), "the interactive class has waited longer since it was served")
	q.served(Interactive.rank(), 30*time.Second)
	assert.Same(t, b2, q.head(30*time.Second))
}

// TestQueueRepriceKeepsArrivalOrder: waiters whose price changed move to
// the line of their new cost, still in arrival order.
func TestQueueRepriceKeepsArrivalOrder(t *testing.T) {
	q := queue{starve: time.Minute}
	a := newWaiter(Default, plain)
	b := newWaiter(Default, memIt)
	c := newWaiter(Default, plain)
	for _, w := range []*waiter{a, b, c} {
		q.push(w, 0)
	}
	dear := Cost{Requests: 1, Complexity: 60}
	q.reprice(func(w *waiter) Cost {
		if w.cost == memIt {
			return dear
		}
		return w.cost
	})
	require.Equal(t, []uint64{a.seq, b.seq, c.seq}, seqs(q.all()))
	assert.Equal(t, dear, b.cost)
	assert.Equal(t, dear.Add(plain).Add(plain), q.classes[Default.rank()].total)
	q.reprice(func(*waiter) Cost { return plain })
	assert.Len(t, q.classes[Default.rank()].groups, 1, "equal costs share a line")
	assert.Equal(t, []uint64{a.seq}, seqs(q.lines(nil, nil)), "one line, one first")
	assert.Equal(t, []uint64{a.seq, b.seq, c.seq}, seqs(q.all()))
	assert.Same(t, a, q.head(0))
}
