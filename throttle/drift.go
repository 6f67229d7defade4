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
// The estimate of each kind is a rate ρ (tokens per nanosecond): an
// exponentially weighted average, with time constant τ (the kind's shortest
// window), of what responses prove others spent: the amount by which the
// mirror's level stood above the most the server could hold (see Reading),
// or by which a 429 found the server short of a call's cost. Every response
// is an observation (most prove nothing: zero), so ρ decays while nobody
// else spends. Only proof counts, never a mere difference: with calls in
// flight and answers out of order, a response's Remaining often lies below
// the mirror's level without anyone else spending, and a client alone on
// its key must pay nothing for the estimate. A call then needs, on top of
// its cost, the reserve ρ(t)·(t − t₀): what the other consumer has probably
// spent since the last response at t₀, with ρ decaying meanwhile (ρ(t) =
// ρ·e^−(t−t₀)/τ, so the reserve never exceeds ρτ/e). The reserve is
// required, never spent. The first response, which tells what others spent
// before this client started, is not drift. The reserve never exceeds a
// quarter of the kind's smallest bucket.
type drift struct {
	rate   [2]float64       // ρ per kind, tokens per ns, as of at
	at     [2]time.Duration // time of the last observation
	tau    [2]float64       // τ per kind, ns
	limit  [2]float64       // the reserve's cap per kind: a quarter of the smallest bucket
	active bool             // some rate is non-zero
}

// negligibleRate is the rate below which it is dropped (a token a week).
const negligibleRate = 1.0 / float64(7*24*time.Hour)

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

// observe records, at now, that a response of kind k moved the level down by
// tokens (negative: up).
func (d *drift) observe(k headers.Kind, tokens float64, now time.Duration) {
	d.rate[k] = d.decayed(k, now) + tokens/d.tau[k]
	if d.rate[k] < negligibleRate {
		d.rate[k] = 0
	}
	d.at[k] = now
	d.active = d.rate[0] > 0 || d.rate[1] > 0
}

func (d *drift) decayed(k headers.Kind, now time.Duration) float64 {
	if d.rate[k] == 0 || now <= d.at[k] {
		return d.rate[k]
	}
	return d.rate[k] * math.Exp(-float64(now-d.at[k])/d.tau[k])
}

// reserve returns the whole tokens of each kind to require on top of a
// call's cost at now.
func (d *drift) reserve(now time.Duration) Cost {
	if !d.active {
		return Cost{}
	}
	var r [2]int64
	for k := range 2 {
		if elapsed := now - d.at[k]; elapsed > 0 && d.rate[k] > 0 {
			r[k] = int64(math.Ceil(min(d.limit[k], d.decayed(headers.Kind(k), now)*float64(elapsed))))
		}
	}
	return Cost{Requests: r[headers.Requests], Complexity: r[headers.Complexity]}
}

// over returns the whole tokens of kind k that others probably spent over
// the d before now, at the rate estimated at now, within the reserve's cap.
func (d *drift) over(k headers.Kind, now, dur time.Duration) int64 {
	if !d.active || dur <= 0 {
		return 0
	}
	return int64(math.Ceil(min(d.limit[k], d.decayed(k, now)*float64(dur))))
}
