package throttle

import "github.com/memsdk/mem-go/headers"

// probe is a route whose price the answers put in doubt and the
// measurements have not settled yet. While a probe lasts the throttle
// admits one call at a time (see Throttle.mayAdmit), so that every answer
// is a clean measurement (see costBook). Without it, calls that overlap
// measure nothing: a price guessed from a refusal's bound stays a guess,
// and a route's own underpricing passes for another consumer's spending
// (the drift estimate learns it, and its reserve paces the route in the
// price's stead, with a 429 whenever the two disagree).
//
// A probe ends when the measurements set the price or agree with it in
// every kind in doubt (settled), or after probeAnswers answers. A route is
// probed at most maxProbes times until a measurement sets its price:
// another consumer's spending lands in its measurements, so they may never
// settle, and each probe costs the pace of calls sent one at a time.
type probe struct {
	route   uint64  // 0: no probe
	doubt   [2]bool // per kind: the price is not settled yet
	answers int     // answers left
	// probes counts each route's probes since a measurement last set
	// its price (at most maxRoutes routes).
	probes map[uint64]int
}

const (
	// probeAnswers is how many answers a probe waits for a price: a rise
	// needs risesWithOthers clean measurements that agree while another
	// consumer spends, the first answer after calls stop overlapping
	// measures nothing, and one disagreement starts the count anew.
	probeAnswers = 2*risesWithOthers + 2
	// maxProbes is how many times a route is probed until a measurement
	// sets its price.
	maxProbes = 3
)

// start doubts the price of route's kind k: it begins a probe of the
// route, unless another route's is on or the route was probed maxProbes
// times already.
func (p *probe) start(route uint64, k headers.Kind) {
	if p.route == 0 {
		if route == 0 || p.probes[route] >= maxProbes || len(p.probes) >= maxRoutes {
			return
		}
		if p.probes == nil {
			p.probes = map[uint64]int{}
		}
		p.probes[route]++
		p.route, p.doubt, p.answers = route, [2]bool{}, probeAnswers
	}
	if p.route == route {
		p.doubt[k] = true
	}
}

// settle clears the doubt on route's kind k: the measurements agree with
// its price. The probe ends once no kind is in doubt.
func (p *probe) settle(route uint64, k headers.Kind) {
	if p.route != route || !p.doubt[k] {
		return
	}
	p.doubt[k] = false
	if p.doubt == [2]bool{} {
		p.route = 0
	}
}

// priced settles route's kind k, whose price a measurement has just set:
// the route may be probed maxProbes times again.
func (p *probe) priced(route uint64, k headers.Kind) {
	p.settle(route, k)
	delete(p.probes, route)
}

// on reports whether a probe is on.
func (p *probe) on() bool { return p.route != 0 }

// answered counts one answer of a call admitted during the probe; the
// probe ends, unsettled, with the last of its answers.
func (p *probe) answered() {
	if p.route == 0 {
		return
	}
	if p.answers--; p.answers == 0 {
		p.route = 0
	}
}
