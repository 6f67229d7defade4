package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
)

// importPlan is what an import will spend and how long it will take. It is
// also the JSON of mem import --dry-run --json.
type importPlan struct {
	Via       string `json:"via"`
	Documents int    `json:"documents"` // documents read from the sources (a file, a JSONL line)
	// Items is what they make: one note or mem-it input each, several for a
	// document split because it is too large for one note.
	Items       int       `json:"items"`
	AlreadyDone int       `json:"already_done"`    // settled by the journal
	Skipped     []failure `json:"skipped"`         // can never be imported as they are
	Failed      []failure `json:"failed"`          // could not be read this time
	Unknown     []failure `json:"outcome_unknown"` // mem-it of unknown outcome, not sent again
	Calls       int       `json:"calls"`           // import calls still to make
	Setup       int       `json:"setup_calls"`     // first: the collection lookups and creations (notes), or the warm-up (mem-it)
	CallCost    costJSON  `json:"call_cost"`
	Requests    int64     `json:"request_tokens"`
	Complexity  int64     `json:"complexity_tokens"`
	ETA         seconds   `json:"eta_seconds"`
	// LevelsMeasured says whether a response had told the buckets' levels
	// when the plan was made; until one has, ETA assumes full buckets.
	LevelsMeasured bool `json:"levels_measured"`
	// DayBound is how many calls go before the day windows set the pace
	// (nil: they never do in this run).
	DayBound *int `json:"day_windows_bind_after_calls"`
	// AcceptUnknown lists the documents of unknown outcome that
	// --accept-unknown records as in Mem.
	AcceptUnknown []failure `json:"accept_unknown"`
	// IgnoredMemItFields counts the JSONL lines to send as notes that carry
	// fields only mem-it reads, which their notes leave out.
	IgnoredMemItFields int `json:"ignored_mem_it_fields"`
}

// costJSON is a call's cost in tokens of each kind.
type costJSON struct {
	Requests   int64 `json:"request_tokens"`
	Complexity int64 `json:"complexity_tokens"`
}

// callCost is what one import call costs under p's cost function.
func callCost(p throttle.Policy, via string) throttle.Cost {
	if via == viaMemIt {
		return p.Cost("POST", "/v2/mem-it")
	}
	return p.Cost("POST", "/v2/notes")
}

// makePlan prices the import calls of todo after the setup calls: those
// that ensure the collections (one list page, and a creation per title at
// most), or a mem-it import's warm-up (one list page, made while th has
// not learnt the key's levels: see importer.warmUp). It estimates with
// th's estimator (its current state: full buckets before any call). s is
// what pending settled.
func makePlan(th *throttle.Throttle, via string, items []item, todo []item, titles []string, s summary) importPlan {
	p := th.Policy()
	c := callCost(p, via)
	n := len(todo)
	setup := 0
	switch {
	case n == 0:
	case needsWarmUp(th, via):
		setup = 1
	case len(titles) > 0:
		setup = 1 + len(titles)
	}
	setupCost := p.Cost("GET", "/v2/collections")
	work := []throttle.Calls{{N: setup, Cost: setupCost}, {N: n, Cost: c}}
	pl := importPlan{
		Via:         via,
		Documents:   countDocuments(items),
		Items:       len(items),
		AlreadyDone: s.AlreadyDone,
		Skipped:     s.Skipped,
		Failed:      s.Failed,
		Unknown:     s.Unknown,
		Calls:       n,
		Setup:       setup,
		CallCost:    costJSON{c.Requests, c.Complexity},
		Requests:    int64(n)*c.Requests + int64(setup)*setupCost.Requests,
		Complexity:  int64(n)*c.Complexity + int64(setup)*setupCost.Complexity,
		ETA:         seconds(th.Estimate(work...)),
		// Read after the estimate: a response between the two leaves the
		// plan saying "assumed", never "measured" when it was not.
		LevelsMeasured: !th.Snapshot().Probing,
	}
	pl.AcceptUnknown = make([]failure, len(s.accept))
	for i, it := range s.accept {
		pl.AcceptUnknown[i] = failure{it.Where, reasonToAccept}
	}
	for _, it := range todo {
		if it.IgnoredMemItFields {
			pl.IgnoredMemItFields++
		}
	}
	if k := dayBound(p, setup, setupCost, n, c); k >= 0 {
		pl.DayBound = &k
	}
	return pl
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

// countDocuments counts the documents items came from: a split document's
// parts count once.
func countDocuments(items []item) int {
	n := 0
	for _, it := range items {
		if it.Part <= 1 {
			n++
		}
	}
	return n
}

func (pl importPlan) print(w io.Writer) {
	read := plural(pl.Documents, "document", "documents")
	if pl.Items != pl.Documents { // some were split: the counts that follow are of notes
		read = fmt.Sprintf("%s (from %s, split where too large)", plural(pl.Items, "note", "notes"), read)
	}
	counts := fmt.Sprintf("%d already done, %d skipped", pl.AlreadyDone, len(pl.Skipped))
	if len(pl.Failed) > 0 {
		counts += fmt.Sprintf(", %d unreadable", len(pl.Failed))
	}
	if len(pl.Unknown) > 0 {
		counts += fmt.Sprintf(", %d of unknown outcome (check Mem: --accept-unknown if there, --retry-unknown to send again)", len(pl.Unknown))
	}
	if len(pl.AcceptUnknown) > 0 {
		counts += fmt.Sprintf(", %d of unknown outcome to record as in Mem (--accept-unknown)", len(pl.AcceptUnknown))
	}
	fmt.Fprintf(w, "%s: %s, %d to import.\n", read, counts, pl.Calls)
	if n := pl.IgnoredMemItFields; n > 0 {
		fmt.Fprintf(w, "Warning: %s mem-it fields that --via notes ignores (\"instructions\", \"context\", \"timestamp\"):\n"+
			"each becomes a plain note of its text. To send them through mem-it instead, import them with --via mem-it.\n",
			plural(n, "JSONL line carries", "JSONL lines carry"))
	}
	if pl.Calls == 0 {
		return
	}
	what := plural(pl.Calls, "note creation", "note creations")
	if pl.Via == viaMemIt {
		what = plural(pl.Calls, "mem-it call", "mem-it calls")
	}
	switch {
	case pl.Setup > 0 && pl.Via == viaMemIt:
		what += " after a 1-token warm-up call (it reads the key's levels)"
	case pl.Setup > 0:
		what += " after " + plural(pl.Setup, "collection call", "collection calls")
	}
	fmt.Fprintf(w, "Calls: %s.\n", what)
	fmt.Fprintf(w, "Tokens: %d request, %d complexity.\n", pl.Requests, pl.Complexity)
	switch {
	case !pl.LevelsMeasured:
		fmt.Fprintf(w, "Time: %s, from full buckets: no response read yet (if the key was used today, it may take longer).\n", humanDuration(durationOf(pl.ETA)))
	case pl.ETA == 0:
		fmt.Fprintln(w, "Time: no wait (it fits in the buckets as they are).")
	default:
		fmt.Fprintf(w, "Time: %s at the current limits.\n", humanDuration(durationOf(pl.ETA)))
	}
	if pl.DayBound != nil {
		fmt.Fprintf(w, "The day windows set the pace after %s: this run crosses into the daily limit.\n", plural(*pl.DayBound, "call", "calls"))
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
