package throttle

import (
	"math"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// costBook learns what each route costs from the headers, so that a change
// of Mem's price list needs no new release. The policy's cost function is
// the starting point: a route keeps it until measured.
//
// A measurement is the change of Remaining between two answers, corrected
// for the refill between the two meterings, taken only when it is clean:
// the call was sent after the previous answer and was alone in flight until
// its own answer, so was the previous call (else a call metered after that
// one but answered before it is in neither reading), both answers name the
// same window, and the bucket cannot have reached its limit meanwhile.
// Remaining is a floor and the meterings happened somewhere within each
// call's flight, so one measurement bounds the cost to an open interval two
// tokens wide and more; the intersection of successive measurements of a
// route narrows it (see narrow). A measurement that contradicts the
// interval so far starts it anew. While another consumer is known to spend
// on the key (the drift estimate is not zero), a rise needs three
// measurements in a row that each show it, not two that agree, with no
// measurement in between (on hold or not) showing another route dearer
// than the price its measurements had confirmed: the other's calls land
// in some measurements, at random, and in those of every route, where a
// price rise shows in every one of its own route's; a price set too high
// by them would be given back by every answer, and those raises would hide
// their spending from the drift estimate. And since every call costs both
// kinds, an answer that shows more spent than the call's price in both,
// for a route whose request price measurements had confirmed, caught
// another consumer's call, and measures no price (a complexity price rise
// shows in its own kind only; see measureAnswer). A throttle on a shared Store (several
// processes) does not measure: the other processes' calls between two
// answers would count as this one's.
//
// Measurements also wait while answers to overlapping calls prove a
// spending nobody counted on (see Throttle.measuresFrom): another
// consumer's would inflate them. But that proof may be the route's own
// price, and calls that keep overlapping would never measure it; so a
// route whose price no measurement has confirmed when its answer proves
// it, a measurement that excludes a route's price without enough others to
// replace it (a rise waiting for its third, say), and a price guessed from
// a refusal are probed: calls go one at a time until measurements settle
// the price (see probe). A measured rise also clears the drift estimate of
// its kind (see Throttle.forgetExplainedDrift).
//
// A rate-limit 429 to a call that the shown windows had tokens for (every
// kind's Remaining at least the call's cost) proves that the call costs
// more than believed, in the kind whose Remaining is smallest against its
// cost, unless that would make it more than maxRise times dearer.
// Retry-After, the server's time until the call fits, bounds it from
// above: the cost becomes that bound at once (or the price measurements
// point to, if they point above what the refusal showed), and later
// measurements bring it down to the exact figure. So a price rise costs a
// route one 429 at most when its calls go one at a time; calls already in
// flight at the old price that the server cannot fit at the new one are
// refused as well (they find less than even the old price: a shortage,
// which proves nothing of it).
type costBook struct {
	learned map[uint64]learnedCost
	pending map[uint64]*[2]interval
	last    [2]answerMark // per kind: the previous answer
	changes uint64        // prices set so far: queued calls are repriced when it moves
	probe   probe         // the prices the answers put in doubt, being measured
	// rose marks the kinds in which a measurement has just raised a price
	// (see Throttle.forgetExplainedDrift).
	rose [2]bool
	// excess counts, per kind, the measurements of any route whose price
	// measurements had confirmed (those on hold included) that showed a
	// cost above that price.
	excess [2]uint64
}

// learnedCost is a route's cost in the kinds that have been learned.
type learnedCost struct {
	cost  Cost
	known [2]bool
}

// interval is an open interval (lo, hi) of costs and how many measurements
// it intersects; above counts the last of them that each, alone, put the
// cost above the price believed when it was taken, and seen is the
// costBook's excess count just after the last of them (see narrow).
type interval struct {
	lo, hi float64
	n      int
	above  int
	seen   uint64
}

// answerMark is what the next measurement needs of an answer.
type answerMark struct {
	ok        bool // a 200 with this kind's headers
	alone     bool // its call was alone in flight: nothing was metered after it but later calls
	window    headers.Window
	remaining int64
	seq       uint64
	sent      time.Duration
	answered  time.Duration
}

// maxRoutes bounds the routes a costBook remembers.
const maxRoutes = 256

// costOf returns the learned cost of route, or def where not learned.
func (b *costBook) costOf(route uint64, def Cost) Cost {
	l, ok := b.learned[route]
	if !ok {
		return def
	}
	if l.known[headers.Requests] {
		def.Requests = l.cost.Requests
	}
	if l.known[headers.Complexity] {
		def.Complexity = l.cost.Complexity
	}
	return def
}

// measurement describes one answer of kind k for measure.
type measurement struct {
	tk    Ticket
	ws    headers.WindowState
	alone bool    // alone in flight from send to answer
	clean bool    // alone, and measurements are not on hold (see Throttle.measuresFrom)
	rate  float64 // refill of the shown bucket, tokens per ns
	now   time.Duration
	// others is set while another consumer is known to spend on the key:
	// its spending between two answers looks like this call's, so a price
	// rises only on more measurements then (see narrow), and only by more
	// than othersRate (the drift estimate's, tokens per ns; 0 when no other
	// consumer is known) spends over the measurement's window (see
	// reading).
	others     bool
	othersRate float64
}

// measureAnswer takes one answer's readings, ms[k] for each kind k shown
// (has[k]): a measurement of its route's cost in each kind when clean,
// and in any case the reference for the next one. Every call costs both
// kinds, and a call costs one request (measurements had confirmed it of
// this route), so when the answer shows more spent than the call's price
// in both, another consumer's call was metered in between (a complexity
// price rise shows in its own kind only): the answer then measures no
// price. A route whose request price is not confirmed yet (a new endpoint)
// may cost more in both kinds: its answers measure both.
func (b *costBook) measureAnswer(ms *[2]measurement, has [2]bool) {
	var ivs [2]interval
	var ok [2]bool
	for k := range ms {
		if has[k] {
			ivs[k], ok[k] = b.reading(headers.Kind(k), &ms[k])
		}
	}
	shows := func(k headers.Kind) bool { return ok[k] && ivs[k].exceeds(ms[k].tk.cost.Of(k)) }
	req := &ms[headers.Requests]
	foreign := shows(headers.Requests) && shows(headers.Complexity) && b.confirmed(req.tk.route, headers.Requests, req.tk.cost.Requests)
	for k := range ms {
		if ok[k] {
			b.measure(headers.Kind(k), &ms[k], ivs[k], foreign)
		}
	}
}

// reading records the answer m of kind k as the reference for the next one
// and returns the interval it bounds its route's cost to, when it is a
// measurement: its call and the previous one were each alone in flight,
// one after the other, and the bucket cannot have filled meanwhile. While
// another consumer is known to spend, the low end allows for what it
// spends at its estimated rate over the window: a route measured while the
// other's calls land in its windows is not priced at its own cost and
// theirs. (The rate, not the burst: a new route's unexplained spending is
// first learned as drift, whose burst is then the route's own excess.)
// A probe's measurements make no such allowance when only the probed
// route's answers proved the spending: it may be the route's own price
// (see learnCost).
func (b *costBook) reading(k headers.Kind, m *measurement) (interval, bool) {
	prev := b.last[k]
	b.last[k] = answerMark{ok: true, alone: m.alone, window: m.ws.Window, remaining: m.ws.Remaining, seq: m.tk.seq, sent: m.tk.at, answered: m.now}
	if !m.alone || m.tk.route == 0 || !prev.ok || !prev.alone || prev.window != m.ws.Window || m.tk.seq != prev.seq+1 {
		return interval{}, false
	}
	minGap, maxGap := float64(m.tk.at-prev.answered), float64(m.now-prev.sent)
	if minGap < 0 || float64(prev.remaining)+1+m.rate*maxGap >= float64(m.ws.Limit) {
		return interval{}, false // overlapped, or the bucket may have filled up meanwhile
	}
	d := float64(prev.remaining - m.ws.Remaining)
	return interval{lo: d + m.rate*minGap - 1 - m.othersRate*maxGap, hi: d + m.rate*maxGap + 1, n: 1}, true
}

// measure takes iv, what the answer m of kind k bounds its route's cost
// to. An answer that is not clean (measurements on hold, or a shared
// store, whose routes are never confirmed), or that caught another
// consumer's call (foreign), measures no price, but one that shows a
// confirmed route dearer is counted as a sign of others' spending (see
// narrow).
func (b *costBook) measure(k headers.Kind, m *measurement, iv interval, foreign bool) {
	if !m.clean || foreign { // no price, but maybe a sign of others' spending
		b.noteExcess(m.tk.route, k, iv, m.tk.cost.Of(k))
		return
	}
	b.narrow(m.tk.route, k, iv, m.tk.cost.Of(k), m.others)
}

// suspect doubts the prices of route that no measurement has confirmed
// (current is what it is believed to cost): an answer to one of its calls,
// overlapping others, proved a spending that this client did not count
// on. It may be another consumer's, or the route's own price, which only
// measurements tell apart (see probe).
func (b *costBook) suspect(route uint64, current Cost) {
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		if !b.confirmed(route, k, current.Of(k)) {
			b.probe.start(route, k)
		}
	}
}

// noteExcess counts iv as a sign of others' spending (see excess) when it
// shows route's kind k dearer than c, a price its measurements confirmed.
func (b *costBook) noteExcess(route uint64, k headers.Kind, iv interval, c int64) {
	if iv.exceeds(c) && b.confirmed(route, k, c) {
		b.excess[k]++
	}
}

// confirmed reports whether the measurements of route's kind k allow c.
func (b *costBook) confirmed(route uint64, k headers.Kind, c int64) bool {
	p := b.pending[route]
	return p != nil && p[k].n > 0 && float64(c) > p[k].lo && float64(c) < p[k].hi
}

// risesWithOthers is how many measurements in a row must each show a rise
// to raise a price while another consumer is known to spend on the key:
// its calls land in some measurements, at random, where a price rise shows
// in every one.
const risesWithOthers = 3

// narrow intersects route's interval of kind k with iv. Once two or more
// measurements agree, a cost they exclude is replaced: by the one integer
// they allow, or, when Remaining's rounding leaves two, by the larger (a
// token too many costs a little pace; one too few, a 429). With others
// spending, a rise also needs the last risesWithOthers measurements to
// show it each on its own, with no measurement in between showing another
// route dearer than its confirmed price (the other's calls land in the
// measurements of every route, a price rise in its own route's only). A
// measurement that allows the cost settles its probe; one that excludes
// it, without enough measurements to replace it, starts one (see probe).
func (b *costBook) narrow(route uint64, k headers.Kind, iv interval, current int64, others bool) {
	if b.pending == nil {
		b.pending = map[uint64]*[2]interval{}
	}
	p := b.pending[route]
	if p == nil {
		if len(b.pending) >= maxRoutes {
			return
		}
		p = &[2]interval{}
		b.pending[route] = p
	}
	shows := iv.exceeds(current)
	before := b.excess[k]
	b.noteExcess(route, k, iv, current) // a price measured right now looks dearer
	iv.above, iv.seen = 0, b.excess[k]
	if shows {
		iv.above = 1
	}
	if cur := p[k]; cur.n > 0 && max(cur.lo, iv.lo) < min(cur.hi, iv.hi) {
		// The run of measurements that each show a rise goes on unless
		// this one does not, or another route was shown dearer since the
		// run's last (the excess count moved): then it starts again here.
		above := iv.above
		if shows && cur.above > 0 && cur.seen == before {
			above = cur.above + 1
		}
		iv = interval{lo: max(cur.lo, iv.lo), hi: min(cur.hi, iv.hi), n: cur.n + 1, above: above, seen: iv.seen}
	}
	p[k] = iv
	if float64(current) > iv.lo && float64(current) < iv.hi {
		b.probe.settle(route, k)
		return
	}
	c, ok := iv.price()
	if iv.n < 2 || !ok || others && c > current && iv.above < risesWithOthers {
		b.probe.start(route, k) // the next measurements, one call at a time
		return
	}
	if c > current {
		b.rose[k] = true
	}
	b.set(route, k, c)
	b.probe.priced(route, k)
}

// exceeds reports whether iv puts the cost above c: its measurement shows
// more spent than a call of price c.
func (iv interval) exceeds(c int64) bool { return iv.lo >= float64(c) }

// price returns the largest integer in (iv.lo, iv.hi), the price iv
// points to, and false when there is none at or above zero.
func (iv interval) price() (int64, bool) {
	c := math.Ceil(iv.hi) - 1
	if c < 0 || c <= iv.lo {
		return 0, false
	}
	return int64(c), true
}

// refused takes a rate-limit 429 to tk: when every shown kind had its cost,
// the call costs more than believed (see costBook).
func (b *costBook) refused(tk Ticket, st headers.Status, retryAfter time.Duration, rate [2]float64, capacity Cost) {
	b.last = [2]answerMark{} // a refusal is no reference
	if tk.route == 0 {
		return
	}
	culprit, ratio := -1, math.Inf(1)
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws := st.Of(k)
		if !ws.Present() {
			continue
		}
		c := tk.cost.Of(k)
		if ws.Remaining < c {
			return // short of tokens, not of the price
		}
		if ws.Remaining >= maxRise(c) {
			continue // a price that many times higher is not believed on one 429
		}
		if r := float64(ws.Remaining) / float64(max(c, 1)); r < ratio {
			culprit, ratio = int(k), r
		}
	}
	if culprit < 0 {
		return
	}
	k := headers.Kind(culprit)
	ws := st.Of(k)
	bound := int64(float64(ws.Remaining) + 1 + rate[k]*float64(retryAfter))
	c, measured := b.measuredAbove(tk.route, k, ws.Remaining)
	if measured {
		bound = c
	}
	b.set(tk.route, k, min(capacity.Of(k), bound))
	if !measured { // a guess on the high side: measurements bring it down
		b.probe.start(tk.route, k)
	}
}

// measuredAbove returns the price the measurements of route's kind k
// point to (their interval's price, as narrow takes),
// when it is above remaining: a refusal that proves the call costs more
// than remaining confirms it, and it is nearer than the refusal's own
// bound (remaining, plus the refill until Retry-After), which guesses high.
func (b *costBook) measuredAbove(route uint64, k headers.Kind, remaining int64) (int64, bool) {
	p := b.pending[route]
	if p == nil || p[k].n == 0 {
		return 0, false
	}
	c, ok := p[k].price()
	if !ok || c <= remaining {
		return 0, false
	}
	return c, true
}

// maxRise is the least price, from one believed at c, that a single 429 is
// not taken to prove: a server refuses calls for other reasons too (a limit
// it does not report), and a spurious 429 on a full bucket must not price
// a call at the whole bucket. Larger rises are learned by measurement.
func maxRise(c int64) int64 { return 4*c + 10 }

func (b *costBook) set(route uint64, k headers.Kind, c int64) {
	if b.learned == nil {
		b.learned = map[uint64]learnedCost{}
	}
	l, ok := b.learned[route]
	if !ok && len(b.learned) >= maxRoutes {
		return
	}
	if k == headers.Complexity {
		l.cost.Complexity = c
	} else {
		l.cost.Requests = c
	}
	l.known[k] = true
	b.learned[route] = l
	b.changes++
}

// routeKey names a request's route for the cost book: a hash of its method
// and path in which every segment that looks like an id (16 characters or
// more, with a digit) counts as the same one, so every note's GET is one
// route. It does not allocate.
func routeKey(method, path string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h = (h ^ '/') * prime
	}
	add(method)
	for len(path) > 0 {
		i := 0
		for i < len(path) && path[i] != '/' {
			i++
		}
		if seg := path[:i]; seg != "" {
			if looksLikeID(seg) {
				seg = "{id}"
			}
			add(seg)
		}
		if i < len(path) {
			i++
		}
		path = path[i:]
	}
	return max(h, 1) // 0 means no route
}

func looksLikeID(seg string) bool {
	if len(seg) < 16 {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] >= '0' && seg[i] <= '9' {
			return true
		}
	}
	return false
}
