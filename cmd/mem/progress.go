package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
)

// progress shows an import's advance: one line, redrawn in place and fitted
// to the terminal's width, on a terminal; a log line every logEvery
// elsewhere. The ETA comes from the throttle's estimator (the exact bucket
// math from the current levels), not from an average of past calls.
type progress struct {
	mu       sync.Mutex
	th       *throttle.Throttle
	total    int
	cost     throttle.Cost
	w        io.Writer
	tty      bool
	width    func() int // the terminal's columns
	drawn    int        // characters of the line on screen now
	counts   counts
	lastLine time.Time
	// logged is what the last log line showed (nil: none yet).
	logged  *counts
	stop    chan struct{}
	stopped sync.WaitGroup
}

// logEvery spaces the log lines written without a terminal.
const logEvery = 10 * time.Second

// redrawEvery is how often the line is redrawn while nothing completes: a
// mem-it may wait minutes for its tokens, and the levels and ETA still move.
const redrawEvery = 200 * time.Millisecond

// newProgress starts a display of total calls of the given cost on w. On a
// terminal (tty) it redraws when resize delivers (SIGWINCH).
func newProgress(w io.Writer, tty bool, resize <-chan os.Signal, th *throttle.Throttle, total int, cost throttle.Cost) *progress {
	p := &progress{th: th, total: total, cost: cost, w: w, tty: tty, stop: make(chan struct{})}
	p.width = func() int {
		cols, _ := terminalWidth(w)
		return cols
	}
	every := logEvery
	if tty {
		every = redrawEvery
	}
	p.stopped.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-resize:
				p.redraw(true)
			case <-tick.C:
				p.redraw(false)
			}
		}
	})
	p.redraw(false)
	return p
}

// update records how far the run has got.
func (p *progress) update(c counts) {
	p.mu.Lock()
	p.counts = c
	p.mu.Unlock()
	p.redraw(false)
}

// redraw draws the line again (on a terminal), or logs it when due. After a
// resize the old line may now span several rows: they are cleared first.
func (p *progress) redraw(resized bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		if now := time.Now(); now.Sub(p.lastLine) >= logEvery {
			p.lastLine = now
			p.logLocked(now)
		}
		return
	}
	p.drawLocked(resized, "")
}

// drawLocked writes the line in place; end is written after it ("\n" to
// leave it on screen for good).
func (p *progress) drawLocked(resized bool, end string) {
	width := p.width()
	var b strings.Builder
	if resized && width > 0 && p.drawn > width {
		// The old line now wraps at the new width (terminals reflow it):
		// go up to its first row, and clear from there.
		fmt.Fprintf(&b, "\x1b[%dA", (p.drawn-1)/width)
	}
	line := fitLine(p.parts(), width-1) // never the last column: no auto-wrap
	b.WriteString("\r" + line + "\x1b[J" + end)
	p.drawn = utf8.RuneCountInString(line)
	if end != "" {
		p.drawn = 0
	}
	_, _ = io.WriteString(p.w, b.String())
}

// logLocked writes the log line (elsewhere than on a terminal).
func (p *progress) logLocked(now time.Time) {
	fmt.Fprintf(p.w, "%s %s\n", now.Format(time.TimeOnly), p.logLine())
	c := p.counts
	p.logged = &c
}

// finish stops the redraws and leaves the final line (a terminal) or logs
// it (elsewhere), whatever the time since the last one, unless the last
// line logged already showed these counts.
func (p *progress) finish() {
	close(p.stop)
	p.stopped.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.tty:
		p.drawLocked(false, "\n")
	case p.logged == nil || *p.logged != p.counts:
		p.logLocked(time.Now())
	}
}

// lineParts are the pieces of the progress line, from the most to the
// least important: fitLine drops from the end.
type lineParts struct {
	label string // "importing"
	pct   string // "37%"
	count string // "56/150", with ", 3 failed"
	eta   string // "ETA about 2 min", or why it waits
	note  string // "waiting for cpx/min tokens", or ""
	// levels are the buckets, those the next call waits for first.
	levels []string
	// measured is false until a response has told the levels: then levels
	// says so instead of showing the full buckets the mirror assumes.
	measured bool
}

func (p *progress) parts() lineParts {
	settled := p.counts.imported + p.counts.already + p.counts.failed + p.counts.unknown + p.counts.skipped
	lp := lineParts{label: "importing", pct: fmt.Sprintf("%3d%%", percent(settled, p.total))}
	lp.count = fmt.Sprintf("%d/%d", settled, p.total)
	if others := p.counts.others(); others != "" {
		lp.count += " (" + others + ")"
	}
	snap := p.th.Snapshot()
	switch {
	case settled == p.total:
		lp.eta = "done"
	case snap.PausedUntil.After(snap.At):
		lp.eta = fmt.Sprintf("paused %s by a 429", snap.PausedUntil.Sub(snap.At).Round(time.Second))
	default:
		// Estimate counts the calls queued in the throttle: the plan is the
		// calls not yet there (the calls in flight need no more tokens).
		unsent := max(0, p.total-settled-snap.InFlight-snap.Queued)
		eta := p.th.Estimate(throttle.Calls{N: unsent, Cost: p.cost})
		lp.eta = "ETA " + humanDuration(eta)
		if snap.Probing {
			lp.eta += " if the buckets are full"
		}
		if snap.InFlight == 0 && snap.Queued > 0 {
			lp.note = waitingNote(snap, p.cost)
			if eta <= 0 { // the estimate, which assumes nobody else spends, sees no wait
				lp.eta = "ETA unknown"
				if snap.Reserve != (throttle.Cost{}) {
					lp.note += " (held back for spending this client did not count: another user of the key, or calls dearer than priced)"
				}
			}
		}
	}
	lp.measured = !snap.Probing
	lp.levels = []string{"buckets not measured yet"}
	if lp.measured {
		lp.levels = levels(snap, p.cost)
	}
	return lp
}

// others says how many of those settled were not imported now, in the
// summary's words: already in Mem, failed, of unknown outcome ("4 already
// in Mem, 1 failed, 2 outcome unknown"; "" when none).
func (c counts) others() string {
	var parts []string
	if c.already > 0 {
		parts = append(parts, fmt.Sprintf("%d already in Mem", c.already))
	}
	if c.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c.failed))
	}
	if c.unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d outcome unknown", c.unknown))
	}
	return strings.Join(parts, ", ")
}

// waitingNote names the buckets the next call of cost c waits for:
// "waiting for cpx/min tokens". Those short of its cost, or the tightest
// when none is (at the instant its refill makes the call pass).
func waitingNote(s throttle.Snapshot, c throttle.Cost) string {
	bs := byWait(s, c)
	if len(bs) == 0 {
		return "waiting for tokens"
	}
	names := []string{bucketName(bs[0].Bucket)}
	for _, b := range bs[1:] {
		if spare(b, s, c) < 0 {
			names = append(names, bucketName(b.Bucket))
		}
	}
	return "waiting for " + strings.Join(names, " and ") + " tokens"
}

// percent is done/total in whole percent, 100 only when all are done.
func percent(done, total int) int {
	if total <= 0 || done >= total {
		return 100
	}
	return min(99, done*100/total)
}

// fitLine lays the parts out in at most width characters. It drops the
// bucket levels first (from the end of lp.levels), then shrinks
// the bar, then drops the "waiting" note, then the ETA, then the bar.
func fitLine(lp lineParts, width int) string {
	const maxBar, minBar = 30, 10
	compose := func(levels []string, note, eta bool, bar int) string {
		fields := []string{lp.label}
		if bar > 0 {
			fields = append(fields, progressBar(lp.pct, bar))
		}
		fields = append(fields, lp.pct, lp.count)
		if eta {
			fields = append(fields, lp.eta)
		}
		line := strings.Join(fields, " ")
		if note && lp.note != "" {
			line += ", " + lp.note
		}
		if len(levels) > 0 {
			line += " | " + strings.Join(levels, " ")
		}
		return line
	}
	fits := func(s string) bool { return utf8.RuneCountInString(s) <= width }
	for n := len(lp.levels); n >= 0; n-- {
		if s := compose(lp.levels[:n], true, true, maxBar); fits(s) {
			return s
		}
	}
	for _, keep := range []struct{ note, eta bool }{{true, true}, {false, true}, {false, false}} {
		for bar := maxBar; bar >= minBar; bar-- {
			if s := compose(nil, keep.note, keep.eta, bar); fits(s) {
				return s
			}
		}
	}
	return shorten(compose(nil, false, false, 0), width)
}

// progressBar draws "[=====>    ]" n characters wide for pct ("37%").
func progressBar(pct string, n int) string {
	var v int
	fmt.Sscanf(strings.TrimSpace(pct), "%d%%", &v)
	inner := n - 2
	full := inner * v / 100
	bar := strings.Repeat("=", full)
	if full < inner {
		bar += ">" + strings.Repeat(" ", inner-full-1)
	}
	return "[" + bar + "]"
}

// logLine is the progress as one log line, for a non-terminal.
func (p *progress) logLine() string {
	lp := p.parts()
	line := fmt.Sprintf("imported %d of %d", p.counts.imported, p.total)
	if others := p.counts.others(); others != "" {
		line += ", " + others
	}
	if lp.note != "" {
		line += ", " + lp.note
	}
	if !lp.measured {
		return line + ", " + lp.eta + "; " + strings.Join(lp.levels, " ")
	}
	return line + ", " + lp.eta + "; buckets " + strings.Join(lp.levels, " ")
}

// levels formats every bucket as "req/min 37/100", the tightest first
// (see byWait), and a level no answer has shown (the headers show one
// window of each kind) as this client's estimate: "cpx/day ~7920/8000". A
// line too narrow for all of them drops them from the end: the buckets
// that set the pace stay longest.
func levels(s throttle.Snapshot, c throttle.Cost) []string {
	var out []string
	for _, b := range byWait(s, c) {
		estimate := ""
		if !b.Shown {
			estimate = "~"
		}
		out = append(out, fmt.Sprintf("%s %s%d/%d", bucketName(b.Bucket), estimate, int64(max(0, b.Level)), b.Limit))
	}
	return out
}

// byWait orders the snapshot's buckets from the tightest for the next call
// of cost c to the loosest: by spare, so that the buckets it waits for come
// first (the longest wait first), and a day window, whose tokens last a
// day, only comes first when it is nearly empty.
func byWait(s throttle.Snapshot, c throttle.Cost) []throttle.BucketState {
	bs := slices.Clone(s.Buckets)
	slices.SortStableFunc(bs, func(a, b throttle.BucketState) int {
		return cmp.Compare(spare(a, s, c), spare(b, s, c))
	})
	return bs
}

// spare is how long bucket b's tokens beyond what the next call of cost c
// needs (its cost and the snapshot's reserve) take to refill: negative when
// it holds less than that, minus the wait until it holds enough.
func spare(b throttle.BucketState, s throttle.Snapshot, c throttle.Cost) time.Duration {
	if b.Limit <= 0 {
		return 0
	}
	need := float64(c.Of(b.Kind) + s.Reserve.Of(b.Kind))
	return time.Duration((b.Level - need) / float64(b.Limit) * float64(b.Period))
}

// bucketName is "req/min", "cpx/day"...
func bucketName(b throttle.Bucket) string {
	kind := "req"
	if b.Kind == headers.Complexity {
		kind = "cpx"
	}
	return kind + "/" + shortWindow(b.Window)
}

func shortWindow(w headers.Window) string {
	if w == headers.Minute {
		return "min"
	}
	return string(w)
}
