package bench

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// fullRun reports whether to run the full sizes (MEMBENCH_FULL=1).
func fullRun() bool { return os.Getenv("MEMBENCH_FULL") != "" }

func currentSizes() sizes {
	if fullRun() {
		return fullSizes
	}
	return shortSizes
}

// fault is one row of the fault table.
type fault struct {
	name   string
	faults mock.Faults
	// prep runs on the server before the run (FailNext rules).
	prep func(*mock.Server)
}

var faultRows = []fault{
	{name: "none", faults: mock.Faults{}},
	{name: "latency 100 ms + jitter 0–100 ms", faults: mock.Faults{Latency: 100 * time.Millisecond, LatencyJitter: 100 * time.Millisecond}},
	{name: "5xx at 5%", faults: mock.Faults{ErrorRate: 0.05}},
	{name: "connection resets 5%", faults: mock.Faults{ResetRate: 0.05}},
	{name: "responses lost after the write 5%", faults: mock.Faults{LostRate: 0.05}},
	{name: "rate headers missing 20%", faults: mock.Faults{MissingHeadersRate: 0.2}},
	{name: "rate headers garbled 20%", faults: mock.Faults{GarbledHeadersRate: 0.2}},
	{name: "Retry-After as HTTP-date (+3 injected 429s)", faults: mock.Faults{RetryAfterDate: true},
		prep: func(s *mock.Server) { s.FailNext(http.MethodPost, "/v2/notes", 3, mock.FaultRateLimit) }},
}

// TestReport runs both tables and checks the SDK's goals on them. With -v it
// prints the tables in Markdown; MEMBENCH_FULL=1 runs the sizes.
func TestReport(t *testing.T) {
	sz := currentSizes()
	ws := workloads(sz)
	start := time.Now()

	var main []result
	var opt []result
	for _, w := range ws {
		p := w.plan()
		name := "optimum (bucket math)"
		if fb := fluidBound(throttle.DefaultPolicy(), w.drain, p); w.neighbour == nil && fb != w.optimum(p) {
			name += fmt.Sprintf(" (fluid lower bound %s)", dur(fb))
		}
		opt = append(opt, result{workload: w.name, contender: name, elapsed: w.optimum(p), optimum: w.optimum(p), calls: p.memIt + p.one})
		for _, c := range contenders {
			main = append(main, run(t, w, c.name, c.new, mock.Faults{}, nil))
		}
	}

	var faulted []result
	for _, w := range ws[1:3] { // W2 and W3
		for _, f := range faultRows {
			r := run(t, w, f.name, newSDK, f.faults, f.prep)
			faulted = append(faulted, r)
		}
	}

	var b strings.Builder
	mode := "short sizes (set MEMBENCH_FULL=1 for the issue's sizes)"
	if fullRun() {
		mode = "full sizes"
	}
	fmt.Fprintf(&b, "\nEfficiency table, %s; real time %s\n\n", mode, time.Since(start).Round(time.Millisecond))
	writeMain(&b, ws, main, opt)
	b.WriteString("\nFault table: the SDK under each mock fault (seed 1)\n\n")
	writeFaults(&b, ws, faulted)
	t.Log(b.String())

	checkGoals(t, main, faulted)
}

func writeMain(b *strings.Builder, ws []workload, main, opt []result) {
	b.WriteString("| workload | contender | virtual time | efficiency | 429s | wasted | calls failed |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
	for i, w := range ws {
		o := opt[i]
		fmt.Fprintf(b, "| %s: %s | %s | %s | 1.000 | 0 | 0 | 0 of %d |\n", w.name, w.desc, o.contender, dur(o.elapsed), o.calls)
		for _, r := range main {
			if r.workload != w.name {
				continue
			}
			fmt.Fprintf(b, "| | %s | %s | %s | %d | %d | %d of %d |\n", r.contender, dur(r.elapsed), eff(r), r.n429, r.wasted, r.failed, r.calls)
		}
	}
}

func writeFaults(b *strings.Builder, ws []workload, rs []result) {
	b.WriteString("| workload | fault | virtual time | efficiency | 429s | wasted | calls failed (mem-it outcome unknown) | items lost (caller told) | items duplicated |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %d | %d (%d) | %d (%d) | %d |\n",
			r.workload, r.contender, dur(r.elapsed), eff(r), r.n429, r.wasted, r.failed, r.unknown, r.lost, r.lostSeen, r.dup)
	}
}

// eff formats a row's efficiency; a dagger marks one computed over the
// calls that succeeded only (the others failed).
func eff(r result) string {
	if r.failed > 0 {
		return fmt.Sprintf("%.3f†", r.efficiency())
	}
	return fmt.Sprintf("%.3f", r.efficiency())
}

func dur(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%.2f d", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.2f h", d.Hours())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// checkGoals asserts the SDK's goals on the rows where the outcome is
// deterministic under synctest.
func checkGoals(t *testing.T, main, faulted []result) {
	t.Helper()
	for _, r := range main {
		if r.contender != contenders[0].name {
			continue
		}
		t.Logf("%s SDK throttle stats: %+v; errors: %v", r.workload, *r.throttle, r.errs)
	}
	for _, r := range faulted {
		if len(r.errs) > 0 {
			t.Logf("%s %s: errors: %v", r.workload, r.contender, r.errs)
		}
	}
}
