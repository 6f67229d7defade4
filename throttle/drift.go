package throttle

import (
	"math"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// drift estimates what others spend on the key, so that the mirror does not
// count on tokens they have taken since the last response. Another process
// on the same key spends between two of this client's responses; until the
// next one, the mirror is optimistic by that much. Sending exactly when the
// mirror says the tokens are there would then meet a 429 whenever the other
// consumer took them first.
//
// Each response is an observation of what the mirror's level did since the
// previous one: lowered (only ever when the answer proves another consumer
// spent: see Reading), raised (an earlier lowering went below what the
// server held), or nothing; a rate-limit 429 also tells what the call found
// missing. The estimate of each kind is a rate ρ (tokens per nanosecond):
// the moves, lowerings counted positive and raises negative (so that what a
// pessimistic lowering took too much is given back), over the time they
// cover, both exponentially weighted with time constant τ (the kind's
// shortest window); ρ is never below 0. Only intervals in which the bucket
// cannot have been full count: the spending of another consumer while the
// bucket sits full costs nothing (it takes refill that the cap would have
// wasted) and shows in no answer, so counting that time would understate
// what it takes once the bucket is drawn down, which is when it matters.
// And a burst β: the largest single spending seen, decaying burstDecay
// times faster, since another consumer spends in calls, not in a smooth
// flow.
//
// A call then needs, on top of its cost, the reserve ρ·(t − s) + β, where s
// is when the newest call whose answer was observed was sent: the other
// consumer's spending since then is in no answer yet. ρ does not decay over
// that gap (no news is not evidence that the other consumer stopped); it
// decays with each observation. The reserve is required, never spent, so
// it delays calls once, by its size, rather than each call. It never
// exceeds a quarter of the kind's smallest bucket. A client alone on its key
// sees no proof, so ρ and β stay 0 and the reserve costs nothing. The first
// response, which tells what others spent before this client started, is
// not drift, nor is the first to show a window (a day window, say, shown
// once it holds fewer tokens than the minute window).
type drift struct {
	rate  [2]float64 // ρ per kind, tokens per ns: spent/span
	spent [2]float64 // the weighted sum of the moves counted, tokens
	span  [2]float64 // the weighted sum of the time they cover, ns
	// from is when the last bounded answer came (see observe), level the
	// level it left, and pending what the answers since then moved, not yet
	// counted; counting is set once there was one.
	from     [2]time.Duration
	level    [2]float64
	pending  [2]float64
	counting [2]bool
	burst    [2]float64       // β per kind, tokens, as of at
	at       [2]time.Duration // time of the last observation
	seen     [2]time.Duration // send time of the newest call observed
	tau      [2]float64       // τ per kind, ns
	limit    [2]float64       // the reserve's cap per kind: a quarter of the smallest bucket
	active   bool             // some rate or burst is non-zero
	// source is, per kind, the route whose answers gave every proof the
	// estimate holds (0: none yet; manyRoutes: several, or one unknown):
	// a route's own underpricing is learned as drift, proved only by its
	// answers, where another consumer's spending shows in every route's.
	source [2]uint64
}

// manyRoutes is drift.source's mark for proofs from several routes.
const manyRoutes = ^uint64(0)

// burstDecay is how much faster β decays than ρ: a single large spending
// (another process's start-up, say) should hold back tokens for seconds,
// not for the minute a recurring one is remembered.
const burstDecay = 6

// negligibleRate is the rate below which it is dropped (a token a week), and
// negligibleBurst the burst.
const (
	negligibleRate  = 1.0 / float64(7*24*time.Hour)
	negligibleBurst = 0.01
)

func newDrift(p Policy) drift {
	var d drift
	for k := range 2 {
		d.tau[k], d.limit[k] = math.Inf(1), math.Inf(1)
	}
	for _, b := range p.Buckets {
		d.tau[b.Kind] = min(d.tau[b.Kind], float64(b.Period))
		d.limit[b.Kind] = min(d.limit[b.Kind], float64(b.Limit)/4)
	}
	return d
}

// observe records, at now, that the answer to a call of route sent at sent
// moved the level of kind k down by tokens (negative: up), to after, in
// bucket b (the window the answer showed). Bounded says that no other call
// of the kind was in flight: only such an answer accounts for everything
// others spent before its call was sent. With calls in flight the answer proves a floor
// lower by what they cost (they may have been metered before it or not),
// and a level kept above that floor may still count on tokens others took;
// so the reserve keeps growing from the newest bounded answer, and the
// moves of the others wait to be counted with the next one.
func (d *drift) observe(k headers.Kind, route uint64, tokens float64, sent, now time.Duration, bounded bool, after float64, b Bucket) {
	if tokens > 0 {
		d.prove(k, route)
	}
	d.pending[k] += tokens
	d.burst[k] = max(d.burst[k]*math.Pow(d.decay(k, now), burstDecay), tokens)
	if d.burst[k] < negligibleBurst {
		d.burst[k] = 0
	}
	if bounded {
		d.count(k, now, after, b)
		d.seen[k] = max(d.seen[k], sent)
	}
	d.at[k] = max(d.at[k], now)
	d.settle(k)
}

// prove records that an answer to a call of route proved spending of kind k.
func (d *drift) prove(k headers.Kind, route uint64) {
	switch {
	case d.source[k] == 0 && route != 0:
		d.source[k] = route
	case d.source[k] != route:
		d.source[k] = manyRoutes
	}
}

// settle updates active after kind k's estimate changed, and forgets where
// the proofs came from once the estimate holds none.
func (d *drift) settle(k headers.Kind) {
	if d.rate[k] == 0 && d.burst[k] == 0 && d.pending[k] <= 0 {
		d.source[k] = 0
	}
	d.active = d.rate[0] > 0 || d.rate[1] > 0 || d.burst[0] > 0 || d.burst[1] > 0
}

// provedOnlyBy reports whether every proof that kind k's estimate holds
// came from answers to calls of route.
func (d *drift) provedOnlyBy(k headers.Kind, route uint64) bool {
	return route != 0 && d.source[k] == route
}

// begin records the level the first response left (it tells what others
// spent before this client started, which is not drift): the first
// interval counted starts there, so that the answer after it already
// measures a rate.
func (d *drift) begin(k headers.Kind, now time.Duration, level float64) {
	d.from[k], d.level[k], d.counting[k] = now, level, true
}

// forget drops what the estimate of kind k has learned (see
// Throttle.forgetExplainedDrift); the interval being counted goes on.
func (d *drift) forget(k headers.Kind) {
	d.rate[k], d.spent[k], d.span[k], d.pending[k], d.burst[k] = 0, 0, 0, 0, 0
	d.settle(k)
}

// decay is the weight left, at now, to what was observed at the last
// observation of kind k.
func (d *drift) decay(k headers.Kind, now time.Duration) float64 {
	if now <= d.at[k] {
		return 1
	}
	return math.Exp(-float64(now-d.at[k]) / d.tau[k])
}

// count adds the moves observed since the last bounded answer, and the time
// they cover, to the estimate of ρ: an answer read with other calls in
// flight proves only part of what others spent, so only a bounded answer
// closes an interval.
func (d *drift) count(k headers.Kind, now time.Duration, after float64, b Bucket) {
	elapsed := max(0, now-d.from[k])
	decay := math.Exp(-float64(elapsed) / d.tau[k])
	d.spent[k] *= decay
	d.span[k] *= decay
	if d.counting[k] && d.level[k]+b.refillOver(elapsed) < float64(b.Limit)-1 { // never full since the last bounded answer
		d.spent[k] += d.pending[k]
		d.span[k] += float64(elapsed)
	}
	d.pending[k], d.from[k], d.level[k], d.counting[k] = 0, now, after, true
	if d.span[k] > 0 {
		d.rate[k] = max(0, d.spent[k]/max(d.span[k], float64(time.Second)))
	}
	if d.rate[k] < negligibleRate {
		d.rate[k] = 0
	}
}

// reserve returns the whole tokens of each kind to require on top of a
// call's cost at now.
func (d *drift) reserve(now time.Duration) Cost {
	if !d.active {
		return Cost{}
	}
	var r [2]int64
	for k := range 2 {
		if d.rate[k] > 0 || d.burst[k] > 0 {
			gap := float64(max(0, now-d.seen[k]))
			burst := min(d.burst[k], d.rate[k]*d.tau[k]/burstDecay) // a recurring spender's, not a one-off's
			r[k] = int64(math.Ceil(min(d.limit[k], d.rate[k]*gap+burst)))
		}
	}
	return Cost{Requests: r[headers.Requests], Complexity: r[headers.Complexity]}
}

// over returns the whole tokens of kind k that others probably spent over
// the dur before now, at the estimated rate, within the reserve's cap.
func (d *drift) over(k headers.Kind, dur time.Duration) int64 {
	if !d.active || dur <= 0 {
		return 0
	}
	return int64(math.Ceil(min(d.limit[k], d.rate[k]*float64(dur))))
}

// horizon is how long drift remembers: the longest τ of a kind with buckets.
func (d *drift) horizon() time.Duration {
	var h float64
	for _, tau := range d.tau {
		if !math.IsInf(tau, 1) {
			h = max(h, tau)
		}
	}
	return time.Duration(h)
}
