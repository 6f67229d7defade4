package bench

import (
	"math"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// The optimum of a workload is the shortest time in which any client can
// have its calls admitted by the server, by the bucket math.
//
// For a workload of one cost (W1, W2, W5, W6) that is Policy.Optimum, exactly:
// every call admitted as soon as every bucket holds its cost. W5 starts on a
// drained key: the drain's calls are put in front of the plan, and since they
// are all admitted at time 0 the result is exactly the optimum from the
// drained levels.
//
// Policy.Optimum admits its plan in order, and for a mixed workload (W3, W4)
// the order matters by a fraction of a second (which bucket binds last). So
// the optimum of a mixed plan is the best of several orders (mem-it first,
// last, spread evenly, and a burst of mem-it first with the rest spread),
// each achievable; fluidBound gives the lower bound no order can beat, and
// the report says when the two differ.
//
// W4 has a noisy neighbour: the mock admits its call (1 request, 2
// complexity tokens every 2 s) only when the buckets hold its cost, and
// drops it otherwise. Policy.Optimum knows nothing of it, so W4's optimum is
// an exact replay of the mock's rules (simulate): the neighbour's calls at
// their times, the client's calls each admitted at the earliest instant the
// buckets hold its cost, best of the same orders. A greedy client leaves
// the neighbour the least, so this is the best any client can do against
// this neighbour.

// orders returns the candidate orders of a plan's calls.
func orders(p plan) [][]throttle.Cost {
	seq := func(f func(i int) bool) []throttle.Cost {
		out := make([]throttle.Cost, 0, p.memIt+p.one)
		m, o := 0, 0
		for i := 0; m+o < p.memIt+p.one; i++ {
			if (f(i) && m < p.memIt) || o == p.one {
				out = append(out, costMemIt)
				m++
			} else {
				out = append(out, costOne)
				o++
			}
		}
		return out
	}
	n := p.memIt + p.one
	spread := func(k int) func(int) bool { // k mem-it up front, the rest even
		return func(i int) bool {
			if i < k {
				return true
			}
			rest := p.memIt - k
			if rest <= 0 {
				return false
			}
			j := i - k
			return j*rest/(n-k) != (j+1)*rest/(n-k)
		}
	}
	burst := throttle.ComplexityPerMinute / throttle.MemItComplexity
	return [][]throttle.Cost{
		seq(func(int) bool { return true }),
		seq(func(int) bool { return false }),
		seq(spread(0)),
		seq(spread(min(burst, p.memIt))),
	}
}

// simulate replays the mock's rules: the policy's buckets, full at time 0,
// the drain spent at time 0, the neighbour's calls at Interval, 2·Interval,
// … (each admitted only if it fits, else dropped), and the client's calls in
// order, each at the earliest instant every bucket holds its cost. It
// returns when the last client call is admitted.
func simulate(pol throttle.Policy, drain int, nb *mock.Neighbour, calls []throttle.Cost) time.Duration {
	type bk struct {
		limit, level, rate float64 // tokens, tokens, tokens per ns
		complexity         bool
	}
	bs := make([]bk, len(pol.Buckets))
	for i, b := range pol.Buckets {
		bs[i] = bk{limit: float64(b.Limit), level: float64(b.Limit), rate: float64(b.Limit) / float64(b.Period), complexity: b.Kind != pol.Buckets[0].Kind}
	}
	var now time.Duration
	advance := func(t time.Duration) {
		for i := range bs {
			bs[i].level = math.Min(bs[i].limit, bs[i].level+float64(t-now)*bs[i].rate)
		}
		now = t
	}
	of := func(c throttle.Cost, b bk) float64 {
		if b.complexity {
			return float64(c.Complexity)
		}
		return float64(c.Requests)
	}
	const eps = 1e-9
	fits := func(c throttle.Cost) bool {
		for _, b := range bs {
			if b.level+eps < of(c, b) {
				return false
			}
		}
		return true
	}
	take := func(c throttle.Cost) {
		for i := range bs {
			bs[i].level -= of(c, bs[i])
		}
	}
	for range drain {
		take(costOne)
	}
	next := time.Duration(math.MaxInt64)
	var nc throttle.Cost
	if nb != nil {
		next = nb.Interval
		nc = throttle.Cost{Requests: max(1, nb.Requests), Complexity: max(1, nb.Complexity)}
	}
	for _, c := range calls {
		for {
			var wait time.Duration
			for _, b := range bs {
				if need := of(c, b) - b.level; need > eps {
					wait = max(wait, time.Duration(math.Ceil(need/b.rate)))
				}
			}
			if next <= now+wait {
				advance(next)
				if fits(nc) {
					take(nc)
				}
				next += nb.Interval
				continue
			}
			advance(now + wait)
			take(c)
			break
		}
	}
	return now
}

// fluidBound is the lower bound no client can beat: by the time the last
// call is admitted, each bucket has given out the plan's whole cost, at most
// its capacity plus its refill (less what a neighbour takes at its steady
// rate, which only lowers the bound further, so it is left out).
func fluidBound(pol throttle.Policy, drain int, p plan) time.Duration {
	total := throttle.Cost{Requests: int64(p.memIt + p.one + drain), Complexity: int64(p.memIt)*costMemIt.Complexity + int64(p.one+drain)}
	var bound time.Duration
	for _, b := range pol.Buckets {
		c := total.Of(b.Kind)
		if c > b.Limit {
			bound = max(bound, time.Duration(float64(c-b.Limit)/float64(b.Limit)*float64(b.Period)))
		}
	}
	return bound
}

// optimum returns w's optimum for the calls of p (see above).
func (w workload) optimum(p plan) time.Duration {
	pol := throttle.DefaultPolicy()
	var pre []throttle.Calls
	if w.drain > 0 {
		pre = []throttle.Calls{{N: w.drain, Cost: costOne}}
	}
	if p.memIt == 0 || p.one == 0 {
		if w.neighbour == nil {
			return pol.Optimum(append(pre, throttle.Calls{N: p.memIt, Cost: costMemIt}, throttle.Calls{N: p.one, Cost: costOne})...)
		}
	}
	best := time.Duration(math.MaxInt64)
	for _, o := range orders(p) {
		var d time.Duration
		if w.neighbour == nil {
			plan := append([]throttle.Calls(nil), pre...)
			for _, c := range o {
				plan = append(plan, throttle.Calls{N: 1, Cost: c})
			}
			d = pol.Optimum(plan...)
		} else {
			d = simulate(pol, w.drain, w.neighbour, o)
		}
		best = min(best, d)
	}
	return best
}

// neighbourOptimum is W4's optimum for one run, given what the neighbour
// actually took in it. The mock drops a neighbour call that finds the bucket
// short, so the neighbour's share depends on the client: a client that keeps
// the bucket empty starves it, one that pauses leaves it its 30%. So neither
// replay is the yardstick of how well a client used what was left to it;
// this is. From the end levels of the minute buckets and the client's charges
// (the journal), the neighbour took N = L + r·T − level − charged over the run
// of length T (the buckets, saturated, never sit full after time 0), an
// average rate n = N/T. A client that spent every token the neighbour left
// would have had the calls that succeeded admitted by
// T* = max over kinds of (cost − L)/(r − n); the optimum is T*, and the
// efficiency T*/T is the share of the tokens left to it that the client used.
// It returns T* and the neighbour's share n/r of each bucket.
func neighbourOptimum(p plan, elapsed time.Duration, charged [2]int64, end [2]mock.BucketLevel) (time.Duration, [2]float64) {
	cost := [2]int64{int64(p.memIt + p.one), int64(p.memIt)*costMemIt.Complexity + int64(p.one)}
	limits := [2]int64{throttle.RequestsPerMinute, throttle.ComplexityPerMinute}
	var opt time.Duration
	var share [2]float64
	for k := range 2 {
		L := float64(limits[k])
		r := L / float64(time.Minute) // tokens per ns
		T := float64(elapsed)
		n := (L + r*T - end[k].Tokens - float64(charged[k])) / T
		share[k] = n / r
		if c := float64(cost[k]); c > L && r > n {
			opt = max(opt, time.Duration((c-L)/(r-n)))
		}
	}
	return opt, share
}

// neighbourFirst is W4's optimum when the neighbour always gets its share
// (30%): the client has the full burst but only the rest of each minute
// bucket's refill, i.e. Policy.Optimum with the minute periods stretched by
// 1/(1−share). It is not a bound (a client can starve the neighbour), but it
// is the time a client that leaves the neighbour its budget can reach.
func neighbourFirst(nb *mock.Neighbour, p plan) time.Duration {
	pol := throttle.DefaultPolicy()
	for i, b := range pol.Buckets {
		if b.Window != headers.Minute {
			continue
		}
		spent := nb.Requests
		if b.Kind == headers.Complexity {
			spent = nb.Complexity
		}
		share := float64(spent) * float64(b.Period) / float64(nb.Interval) / float64(b.Limit)
		pol.Buckets[i].Period = time.Duration(float64(b.Period) / (1 - share))
	}
	best := time.Duration(math.MaxInt64)
	for _, o := range orders(p) {
		plan := make([]throttle.Calls, len(o))
		for i, c := range o {
			plan[i] = throttle.Calls{N: 1, Cost: c}
		}
		best = min(best, pol.Optimum(plan...))
	}
	return best
}

// TestSimulateMatchesOptimum checks the replay against Policy.Optimum where
// both apply (no neighbour), so W4's optimum uses the same bucket math.
func TestSimulateMatchesOptimum(t *testing.T) {
	pol := throttle.DefaultPolicy()
	for _, p := range []plan{{memIt: 50}, {one: 1000}, {memIt: 20, one: 600}, {memIt: 250}, {memIt: 7, one: 333}} {
		for _, drain := range []int{0, drainW5} {
			for _, o := range orders(p) {
				plan := []throttle.Calls{{N: drain, Cost: costOne}}
				for _, c := range o {
					plan = append(plan, throttle.Calls{N: 1, Cost: c})
				}
				want := pol.Optimum(plan...)
				got := simulate(pol, drain, nil, o)
				if d := got - want; d < -time.Microsecond || d > time.Microsecond {
					t.Errorf("plan %+v drain %d: simulate %v, Optimum %v", p, drain, got, want)
				}
				if fb := fluidBound(pol, drain, p); want < fb {
					t.Errorf("plan %+v drain %d: Optimum %v below the fluid bound %v", p, drain, want, fb)
				}
			}
		}
	}
}
