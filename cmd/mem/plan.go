package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
)

// importPlan is what an import will spend and how long it will take.
type importPlan struct {
	Via        string        `json:"via"`
	Calls      int           `json:"calls"`       // import calls still to make
	Setup      int           `json:"setup_calls"` // collection lookups and creations first
	CallCost   throttle.Cost `json:"call_cost"`
	Requests   int64         `json:"request_tokens"`
	Complexity int64         `json:"complexity_tokens"`
	ETA        time.Duration `json:"eta_ns"`
	// DayBound is how many calls go before the day windows set the pace
	// (-1: they never do in this run).
	DayBound int `json:"day_bound_after"`
}

// callCost is what one import call costs under p's cost function.
func callCost(p throttle.Policy, via string) throttle.Cost {
	if via == viaMemIt {
		return p.Cost("POST", "/v2/mem-it")
	}
	return p.Cost("POST", "/v2/notes")
}

// makePlan prices n import calls after setup cheaper calls, and estimates
// with th's estimator (its current state: full buckets before any call).
func makePlan(th *throttle.Throttle, via string, n, setup int) importPlan {
	p := th.Policy()
	c := callCost(p, via)
	setupCost := p.Cost("GET", "/v2/collections")
	work := []throttle.Calls{{N: setup, Cost: setupCost}, {N: n, Cost: c}}
	return importPlan{
		Via:        via,
		Calls:      n,
		Setup:      setup,
		CallCost:   c,
		Requests:   int64(n)*c.Requests + int64(setup)*setupCost.Requests,
		Complexity: int64(n)*c.Complexity + int64(setup)*setupCost.Complexity,
		ETA:        th.Estimate(work...),
		DayBound:   dayBound(p, setup, setupCost, n, c),
	}
}

// dayBound returns how many of the n calls can go before a day window, not a
// minute window, is what they wait for: the first k for which the full
// policy's optimum exceeds the minute windows' alone. -1 when none.
func dayBound(p throttle.Policy, setup int, setupCost throttle.Cost, n int, c throttle.Cost) int {
	minuteOnly := throttle.Policy{Cost: p.Cost}
	for _, b := range p.Buckets {
		if b.Window == headers.Minute {
			minuteOnly.Buckets = append(minuteOnly.Buckets, b)
		}
	}
	differs := func(k int) bool {
		work := []throttle.Calls{{N: setup, Cost: setupCost}, {N: k, Cost: c}}
		return p.Optimum(work...) > minuteOnly.Optimum(work...)
	}
	if n == 0 || !differs(n) {
		return -1
	}
	// Once the day windows bind they keep binding: search for the first k.
	k := sort.Search(n, func(k int) bool { return differs(k + 1) })
	return k
}

func (pl importPlan) print(w io.Writer) {
	what := "note creations"
	if pl.Via == viaMemIt {
		what = "mem-it calls"
	}
	fmt.Fprintf(w, "%d %s (%d request and %d complexity tokens each)", pl.Calls, what, pl.CallCost.Requests, pl.CallCost.Complexity)
	if pl.Setup > 0 {
		fmt.Fprintf(w, " after %d collection calls", pl.Setup)
	}
	fmt.Fprintf(w, ": %d request tokens, %d complexity tokens in all; %s at the current limits.\n",
		pl.Requests, pl.Complexity, humanDuration(pl.ETA))
	if pl.DayBound >= 0 {
		fmt.Fprintf(w, "The day windows set the pace after %d calls: this run crosses into the daily limit.\n", pl.DayBound)
	}
}

// humanDuration says d the way a person would: "about 1 day 13 h".
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "no wait"
	case d < time.Minute:
		return fmt.Sprintf("about %d s", int((d+time.Second-1)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("about %d min", int((d+time.Minute/2)/time.Minute))
	case d < 24*time.Hour:
		h := d / time.Hour
		m := (d - h*time.Hour + time.Minute/2) / time.Minute
		if m == 60 {
			h, m = h+1, 0
		}
		return fmt.Sprintf("about %d h %d min", h, m)
	}
	days := d / (24 * time.Hour)
	h := (d - days*24*time.Hour + time.Hour/2) / time.Hour
	if h == 24 {
		days, h = days+1, 0
	}
	unit := "days"
	if days == 1 {
		unit = "day"
	}
	return fmt.Sprintf("about %d %s %d h", days, unit, h)
}
