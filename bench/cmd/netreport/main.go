// Command netreport measures the SDK and the CLI in real time over loopback:
// against a mock with Mem's published limits, whose calls are delayed on the
// way in (before metering) and on the way out (after it), so that they are
// metered out of send order and answered out of meter order, as on a real
// network. It is the real-time counterpart of the bench package's property
// tests, not a unit test: it takes minutes (the cells of one run go in
// parallel; a run lasts as long as its slowest cell, about 3 minutes).
//
//	go run ./bench/cmd/netreport                 # print the table
//	go run ./bench/cmd/netreport -write          # and rewrite its section of bench/RESULTS.md
//	go run ./bench/cmd/netreport -runs 1 -only cli-7
//
// Workloads: the CLI (mem import --via mem-it of 7 and 20 generated
// documents, concurrency 4 and 8; built once from ./cmd/mem), memclient with
// its defaults (cold mem-it bursts of 7 and 20 from 8 goroutines; W2 and W3
// shortened). Latencies: none, 20 ms ± 30 ms and 100 ms ± 100 ms in each
// direction (see latencies). Each cell gets a fresh mock on
// its own port; efficiency is the optimum of the calls the mock charged (the
// bucket math, throttle.Policy.Optimum) over the time from the mock's first
// metering to its last.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/memsdk/mem-go/mock"
)

// latency is one network profile: each direction uniform in [lo, hi).
type latency struct {
	name   string
	lo, hi time.Duration
}

// latencies are the issue's profiles, each direction on its own: "20 ms ±
// 30 ms" is uniform in [0, 50 ms) on the way in and again on the way out
// (20 ms − 30 ms clipped at 0), "100 ms ± 100 ms" uniform in [0, 200 ms).
var latencies = []latency{
	{"0", 0, 0},
	{"20ms±30ms", 0, 50 * time.Millisecond},
	{"100ms±100ms", 0, 200 * time.Millisecond},
}

func (l latency) faults() mock.Faults {
	return mock.Faults{Latency: l.lo, LatencyJitter: l.hi - l.lo, ResponseLatency: l.lo, ResponseJitter: l.hi - l.lo}
}

// cell is one (workload, latency, run).
type cell struct {
	w   workload
	lat latency
	run int
}

// row is a cell's outcome.
type row struct {
	cell
	calls, n429 int
	eff         float64
	span, opt   time.Duration
	err         error
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "netreport:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("netreport", flag.ContinueOnError)
	runs := fs.Int("runs", 3, "runs of each workload at each latency")
	write := fs.Bool("write", false, "rewrite the marked section of the results file with the table")
	results := fs.String("results", "bench/RESULTS.md", "results file that -write rewrites")
	only := fs.String("only", "", "run only workloads whose name contains this")
	parallel := fs.Int("parallel", 0, "cells at once (0: every cell of a run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	dir, err := os.MkdirTemp("", "netreport")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	memBin := filepath.Join(dir, "mem")
	fmt.Fprintln(out, "building ./cmd/mem ...")
	if b, err := exec.Command("go", "build", "-o", memBin, "./cmd/mem").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/mem (run from the module root): %v\n%s", err, b)
	}
	ws := workloads(memBin, dir)
	var rows []row
	start := time.Now()
	for r := 1; r <= *runs; r++ {
		var cells []cell
		for _, w := range ws {
			if !strings.Contains(w.name, *only) {
				continue
			}
			for _, l := range latencies {
				cells = append(cells, cell{w: w, lat: l, run: r})
			}
		}
		fmt.Fprintf(out, "run %d of %d: %d cells ...\n", r, *runs, len(cells))
		rows = append(rows, runCells(cells, *parallel)...)
	}
	table := format(rows, time.Since(start))
	fmt.Fprint(out, table)
	if *write {
		return rewrite(*results, table)
	}
	return nil
}

// runCells runs cells, at most parallel at once (0: all).
func runCells(cells []cell, parallel int) []row {
	if parallel <= 0 {
		parallel = len(cells)
	}
	rows := make([]row, len(cells))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = runCell(c)
		})
	}
	wg.Wait()
	return rows
}

// runCell starts a fresh loopback mock with the cell's latency, runs the
// workload against it, and reads the outcome from the journal.
func runCell(c cell) row {
	r := row{cell: c}
	lb, err := mock.NewLoopback(mock.Config{Seed: uint64(c.run), Faults: c.lat.faults(), JournalSize: 1 << 20})
	if err != nil {
		r.err = err
		return r
	}
	defer lb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	r.err = c.w.run(ctx, lb.URL, fmt.Sprintf("%s-%s-%d", c.w.name, c.lat.name, c.run))
	r.measure(lb.Journal())
	return r
}

// measure counts calls and 429s and computes the efficiency from the
// journal: the optimum of the calls charged over the time from the first
// metering to the last charged one.
func (r *row) measure(j []mock.Entry) {
	var first, last time.Time
	var memIt, one int
	for _, e := range j {
		r.calls++
		if e.Status == 429 {
			r.n429++
		}
		if first.IsZero() {
			first = e.Time
		}
		if e.RequestCost == 0 {
			continue
		}
		last = e.Time
		if e.ComplexityCost > 1 {
			memIt++
		} else {
			one++
		}
	}
	r.span = last.Sub(first)
	r.opt = optimum(memIt, one)
	r.eff = 1
	if r.span > 0 {
		r.eff = float64(r.opt) / float64(r.span)
	}
}
