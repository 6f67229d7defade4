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
// Each response is an observation of what the mirror's level did: lowered
// (only ever when the answer proves another consumer spent: see Reading),
// raised (an earlier lowering went below what the server held), or nothing;
// a rate-limit 429 also tells what the call found missing. The estimate of
// each kind is a rate ρ (tokens per nanosecond): an exponentially weighted
// sum, with time constant τ (the kind's shortest window), of those moves,
// lowerings counted positive and raises negative, so that what a pessimistic
// lowering took too much is given back; ρ is never below 0. And a burst β:
// the largest single spending seen, decaying burstDecay times faster, since
// another consumer spends in calls, not in a smooth flow.
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
// not drift.
type drift struct {
	rate   [2]float64       // ρ per kind, tokens per ns, as of at
	burst  [2]float64       // β per kind, tokens, as of at
	at     [2]time.Duration // time of the last observation
	seen   [2]time.Duration // send time of the newest call observed
	tau    [2]float64       // τ per kind, ns
	limit  [2]float64       // the reserve's cap per kind: a quarter of the smallest bucket
	active bool             // some rate or burst is non-zero
}

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

// observe records, at now, that the answer to a call sent at sent moved the
// level of kind k down by tokens (negative: up).
func (d *drift) observe(k headers.Kind, tokens float64, sent, now time.Duration) {
	decay := 1.0
	if now > d.at[k] {
		decay = math.Exp(-float64(now-d.at[k]) / d.tau[k])
	}
	d.rate[k] = max(0, d.rate[k]*decay+tokens/d.tau[k])
	if d.rate[k] < negligibleRate {
		d.rate[k] = 0
	}
	d.burst[k] = max(d.burst[k]*math.Pow(decay, burstDecay), tokens)
	if d.burst[k] < negligibleBurst {
		d.burst[k] = 0
	}
	d.at[k] = max(d.at[k], now)
	d.seen[k] = max(d.seen[k], sent)
	d.active = d.rate[0] > 0 || d.rate[1] > 0 || d.burst[0] > 0 || d.burst[1] > 0
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
