package throttle

import "github.com/memsdk/mem-go/headers"

// probe is a route whose price the answers put in doubt and the
// measurements have not settled yet. While a probe lasts the throttle
// admits one call at a time (see Throttle.mayAdmit), so that every answer
// to the route's calls is a clean measurement (see costBook). Without it,
// calls that overlap measure nothing: a price guessed from a refusal's
// bound stays a guess, and a route's own underpricing passes for another
// consumer's spending (the drift estimate learns it, and its reserve paces
// the route in the price's stead, with a 429 whenever the two disagree).
//
// A probe ends when the measurements set the price or agree with it in
// every kind in doubt (settled), or after probeAnswers answers to calls
// admitted since it began (the calls already in flight then measure
// nothing). A route is probed at most maxProbes times until a measurement
// sets its price: another consumer's spending lands in its measurements,
// so they may never settle, and each probe costs the pace of calls sent
// one at a time.
type probe struct {
	route   uint64  // 0: no probe
	doubt   [2]bool // per kind: the price is not settled yet
	answers int     // answers left
	// after is the admission count when the probe began (see began):
	// only answers to calls admitted after it count.
	after uint64
	fresh bool // begun, after not yet set
	// probes counts each route's probes since a measurement last set
	// its price (at most maxRoutes routes).
	probes map[uint64]int
}

const (
	// probeAnswers is how many answers a probe waits for a price: a rise
	// needs risesWithOthers clean measurements in a row that each show it
	// while another consumer spends, the first answer measures nothing
	// (the answer before it came from a call that was not alone), and one
	// measurement that misses starts the count anew.
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
		n, known := p.probes[route]
		if route == 0 || n >= maxProbes || !known && len(p.probes) >= maxRoutes {
			return
		}
		if p.probes == nil {
			p.probes = map[uint64]int{}
		}
		p.probes[route] = n + 1
		p.route, p.doubt, p.answers, p.fresh = route, [2]bool{}, probeAnswers, true
	}
	if p.route == route {
		p.doubt[k] = true
	}
}

// began records seq, the admissions so far, as when a probe that has just
// started began: the calls in flight then do not count against it.
func (p *probe) began(seq uint64) {
	if p.fresh {
		p.after, p.fresh = seq, false
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

// measures reports whether a probe is on and route is the one it measures.
func (p *probe) measures(route uint64) bool { return p.route != 0 && p.route == route }

// answered counts the answer to the call admitted as the seq-th, if the
// probe began before it; the probe ends, unsettled, with the last of its
// answers.
func (p *probe) answered(seq uint64) {
	if p.route == 0 || p.fresh || seq <= p.after {
		return
	}
	if p.answers--; p.answers == 0 {
		p.route = 0
	}
}
