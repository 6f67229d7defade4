package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The markers around the section -write rewrites.
const (
	beginMarker = "<!-- netreport:begin -->"
	endMarker   = "<!-- netreport:end -->"
)

// format renders the rows as a Markdown table, with a summary per workload
// and latency (runs without a 429 and at least 0.97 efficiency).
func format(rows []row, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nReal-time run over loopback on commit %s, %s, %s, %s/%s, %d CPUs, %s of wall time; each cell its own mock (Mem's limits), the cells of a run in parallel.\n\n",
		commit(), time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), took.Round(time.Second))
	b.WriteString("| workload | latency | run | calls | 429s | optimum | first to last metering | efficiency | error |\n|---|---|---|---|---|---|---|---|---|\n")
	type key struct{ w, l string }
	good := map[key]int{}
	total := map[key]int{}
	var order []key
	for _, r := range sorted(rows) {
		errText := ""
		if r.err != nil {
			errText = strings.ReplaceAll(r.err.Error(), "\n", " ")
			errText = strings.ReplaceAll(errText, "|", "/")
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %.1f s | %.3f s | %.3f | %s |\n",
			r.w.name, r.lat.name, r.run, r.calls, r.n429, r.opt.Seconds(), r.span.Seconds(), r.eff, errText)
		k := key{r.w.name, r.lat.name}
		if total[k] == 0 {
			order = append(order, k)
		}
		total[k]++
		if r.n429 == 0 && r.eff >= 0.97 && r.err == nil {
			good[k]++
		}
	}
	b.WriteString("\nRuns with no 429 and efficiency ≥ 0.97:\n\n| workload | latency | good runs |\n|---|---|---|\n")
	for _, k := range order {
		fmt.Fprintf(&b, "| %s | %s | %d of %d |\n", k.w, k.l, good[k], total[k])
	}
	return b.String()
}

// commit is the checkout's short commit hash, "unknown" outside git.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return "`" + strings.TrimSpace(string(out)) + "`"
}

// sorted orders rows by workload, latency and run, as the table lists them.
func sorted(rows []row) []row {
	latIdx := func(r row) int {
		return slices.IndexFunc(latencies, func(l latency) bool { return l.name == r.lat.name })
	}
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b row) int {
		return cmp.Or(strings.Compare(a.w.name, b.w.name), cmp.Compare(latIdx(a), latIdx(b)), cmp.Compare(a.run, b.run))
	})
	return out
}

// rewrite replaces the text between the markers in path with table, or
// appends a section with the markers when there are none.
func rewrite(path, table string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	section := beginMarker + "\n" + table + "\n" + endMarker
	i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker))
	var out []byte
	switch {
	case i >= 0 && j > i:
		out = append(append(append([]byte{}, old[:i]...), section...), old[j+len(endMarker):]...)
	case i < 0 && j < 0:
		out = append(append(bytes.TrimRight(old, "\n"), "\n\n## Real-time network report (bench/cmd/netreport)\n\n"...), section+"\n"...)
	default:
		return fmt.Errorf("%s: the markers %s and %s are out of order", path, beginMarker, endMarker)
	}
	return os.WriteFile(path, out, 0o644)
}
