package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows an import's advance: a bar on a terminal, log lines
// elsewhere. The ETA comes from the throttle's estimator (the exact bucket
// math from the current levels), not from an average of past calls.
type progress struct {
	mu       sync.Mutex
	th       *throttle.Throttle
	total    int
	cost     throttle.Cost
	bar      *progressbar.ProgressBar // nil without a terminal
	w        io.Writer
	lastLine time.Time
	done     int
	stop     chan struct{}
	stopped  sync.WaitGroup
}

// logEvery spaces the log lines written without a terminal.
const logEvery = 10 * time.Second

func newProgress(w io.Writer, th *throttle.Throttle, total int, cost throttle.Cost) *progress {
	p := &progress{th: th, total: total, cost: cost, w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false), // our ETA is in the description
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	// Redraw while nothing completes too: a mem-it may wait minutes for
	// its tokens, and the levels and ETA still move.
	p.stop = make(chan struct{})
	p.stopped.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	})
	return p
}

// update records that done items are settled.
func (p *progress) update(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	p.draw()
}

func (p *progress) draw() {
	done := p.done
	eta := p.th.Estimate(throttle.Calls{N: p.total - done, Cost: p.cost})
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("ETA %s | %s", humanDuration(eta), levels(p.th.Snapshot())))
		_ = p.bar.Set(done)
		return
	}
	if now := time.Now(); done == p.total || now.Sub(p.lastLine) >= logEvery {
		p.lastLine = now
		fmt.Fprintf(p.w, "%s imported %d/%d, ETA %s, buckets %s\n", now.Format(time.TimeOnly), done, p.total, humanDuration(eta), levels(p.th.Snapshot()))
	}
}

func (p *progress) finish() {
	close(p.stop)
	p.stopped.Wait()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// levels formats every bucket as "req/min 37/100".
func levels(s throttle.Snapshot) string {
	var parts []string
	for _, b := range s.Buckets {
		kind := "req"
		if b.Kind == headers.Complexity {
			kind = "cpx"
		}
		parts = append(parts, fmt.Sprintf("%s/%s %d/%d", kind, shortWindow(b.Window), int64(max(0, b.Level)), b.Limit))
	}
	out := strings.Join(parts, " ")
	if s.PausedUntil.After(s.At) {
		out += fmt.Sprintf(" (paused %s by a 429)", s.PausedUntil.Sub(s.At).Round(time.Second))
	}
	return out
}

func shortWindow(w headers.Window) string {
	if w == headers.Minute {
		return "min"
	}
	return string(w)
}
