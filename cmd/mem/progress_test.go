package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// openPTY opens a pseudo-terminal of the given width and collects what is
// written to its terminal side (tty) until it is closed.
func openPTY(t *testing.T, cols int) (tty *os.File, ptmx *os.File, output <-chan string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { ptmx.Close() })
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(cols), Rows: 24}))
	return tty, ptmx, readAll(ptmx)
}

var ansiCSI = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// drawnLines splits what the progress display wrote into the lines it
// drew: each redraw starts with "\r" and ends at the clear ("\x1b[J").
func drawnLines(out string) []string {
	var lines []string
	for _, seg := range strings.Split(out, "\r") {
		if line, _, ok := strings.Cut(seg, "\x1b[J"); ok {
			lines = append(lines, ansiCSI.ReplaceAllString(line, ""))
		}
	}
	return lines
}

// TestProgressFitsTheTerminal runs an import of 150 notes on a real
// pseudo-terminal at 60, 80 and 200 columns. Before, at 80 columns the bar
// line was 101 characters: it wrapped, each redraw left a stale line, and
// the bar shrank to "||"; it ended at 99%. Now no line reaches the last
// column, the bucket levels go first, and the last line says 100%.
func TestProgressFitsTheTerminal(t *testing.T) {
	for _, cols := range []int{60, 80, 200} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			tty, _, output := openPTY(t, cols)
			synctest.Test(t, func(t *testing.T) {
				srv := mock.MustNew(mock.Config{})
				dir := docs(t, 150)
				var stdout strings.Builder
				env := &cliEnv{ctx: t.Context(), stdin: strings.NewReader(""), stdout: &stdout, stderr: tty, mock: srv, getenv: noEnv,
					resize: make(chan os.Signal)}
				code := runWith(env, []string{"import", "--mock", dir})
				require.Equal(t, exitOK, code)
				assert.Contains(t, stdout.String(), "imported: 150")
			})
			tty.Close()
			out := <-output
			lines := drawnLines(out)
			require.Greater(t, len(lines), 10, "redrawn as the import goes")
			for _, l := range lines {
				require.Less(t, utf8.RuneCountInString(l), cols, "%q", l)
			}
			last := lines[len(lines)-1]
			assert.Contains(t, last, "100% 150/150")
			assert.Contains(t, last, "[============================]", "a full bar")
			mid := lines[len(lines)/2]
			switch cols {
			case 200:
				assert.Contains(t, mid, "req/min")
				assert.Contains(t, mid, "cpx/day", "room for every bucket")
			case 80:
				assert.Contains(t, mid, "ETA")
				assert.NotContains(t, mid, "cpx/day", "the day levels go first")
			case 60:
				assert.NotContains(t, mid, "req/", "no levels")
			}
			after, _ := strings.CutPrefix(out[strings.LastIndex(out, "\x1b[J"):], "\x1b[J")
			assert.True(t, strings.HasPrefix(after, "\r\n") || strings.HasPrefix(after, "\n"), "the last line stays, on a line of its own: %q", after[:min(20, len(after))])
		})
	}
}

func TestFitLineDropsLevelsThenETAThenBar(t *testing.T) {
	lp := lineParts{label: "importing", pct: " 37%", count: "56/150", eta: "ETA about 2 min", note: "waiting for tokens",
		levels: []string{"req/min 37/100", "cpx/min 150/200", "req/day 3900/4000", "cpx/day 7800/8000"}}
	full := fitLine(lp, 1000)
	assert.Equal(t, "importing [==========>                 ]  37% 56/150 ETA about 2 min, waiting for tokens | req/min 37/100 cpx/min 150/200 req/day 3900/4000 cpx/day 7800/8000", full)
	for width := 10; width <= 140; width++ {
		line := fitLine(lp, width)
		require.LessOrEqual(t, utf8.RuneCountInString(line), width, "%d: %q", width, line)
		if strings.Contains(line, "cpx/day") {
			assert.Contains(t, line, "req/min", "minute levels stay longer than day levels")
		}
		if !strings.Contains(line, "waiting") {
			assert.NotContains(t, line, "req/", "levels go before the note")
		}
		if !strings.Contains(line, "ETA") {
			assert.NotContains(t, line, "waiting", "the note goes before the ETA")
		}
		if !strings.Contains(line, "waiting") {
			assert.NotContains(t, line, "[==========>                 ]", "the bar shrinks before the note goes")
		}
	}
	assert.Equal(t, "importing [==========>                 ]  37% 56/150 ETA about 2 min, waiting for tokens", fitLine(lp, 90))
	at79 := fitLine(lp, 79)
	assert.True(t, strings.HasSuffix(at79, "37% 56/150 ETA about 2 min, waiting for tokens"), at79)
	assert.Len(t, at79, 79, "the bar takes what is left")
	assert.Equal(t, "importing [==>     ]  37% 56/150 ETA about 2 min, waiting for tokens", fitLine(lp, 68))
	at67 := fitLine(lp, 67)
	assert.True(t, strings.HasSuffix(at67, "37% 56/150 ETA about 2 min"), at67)
	assert.Len(t, at67, 67)
	assert.Equal(t, "importing [==>     ]  37% 56/150 ETA about 2 min", fitLine(lp, 48))
	assert.Equal(t, "importing [=====>          ]  37% 56/150", fitLine(lp, 40))
	assert.Equal(t, "importing  37% 56/150", fitLine(lp, 25))
}

func TestPercentEndsAt100(t *testing.T) {
	assert.Equal(t, 99, percent(149, 150))
	assert.Equal(t, 100, percent(150, 150))
	assert.Equal(t, 0, percent(0, 150))
}

// TestProgressWithoutATerminalLogs: a log line at the start, every 10 s,
// and at the end, with how many were imported (not merely settled).
func TestProgressWithoutATerminalLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		srv.FailNext("POST", "/v2/notes", 5, mock.FaultServerError) // the first document fails for good
		dir := docs(t, 150)
		code, out, errOut := cli(context.Background(), srv, "", "import", "--mock", "--concurrency", "1", dir)
		assert.Equal(t, exitFailed, code, out)
		assert.Contains(t, errOut, "imported 0 of 150, ETA")
		assert.Regexp(t, `imported 149 of 150, 1 failed, done; buckets req/min \d+/100`, errOut)
		assert.NotContains(t, errOut, "\r")
	})
}

// TestProgressShowsTheBucketItWaitsFor runs a mem-it import on a real
// pseudo-terminal of 100 columns. mem-it spends 40 complexity tokens and 1
// request: the complexity minute bucket sets the pace. Before, the line put
// the levels in a fixed order (req/min first) and dropped from the end, so
// it showed "waiting for tokens | req/min 95/100" and cut the bucket it
// waited for. Now the note names it, and it is the first level shown.
func TestProgressShowsTheBucketItWaitsFor(t *testing.T) {
	tty, _, output := openPTY(t, 100)
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 100)
		var stdout strings.Builder
		env := &cliEnv{ctx: t.Context(), stdin: strings.NewReader(""), stdout: &stdout, stderr: tty, mock: srv, getenv: noEnv,
			resize: make(chan os.Signal)}
		code := runWith(env, []string{"import", "--mock", "--via", "mem-it", "--stop-at-day-limit", dir})
		require.Equal(t, exitOK, code)
	})
	tty.Close()
	var waiting int
	for _, l := range drawnLines(<-output) {
		if !strings.Contains(l, "waiting for") {
			continue
		}
		waiting++
		require.Contains(t, l, "waiting for cpx/min tokens", "%q", l)
		if _, lv, ok := strings.Cut(l, " | "); ok {
			require.True(t, strings.HasPrefix(lv, "cpx/min "), "the bucket it waits for first: %q", l)
		}
	}
	assert.Greater(t, waiting, 10, "the import waited for tokens")
}

func TestLevelsPutTheBucketsTheCallWaitsForFirst(t *testing.T) {
	b := func(k headers.Kind, w headers.Window, level float64, limit int64, period time.Duration) throttle.BucketState {
		// The answers showed the minute windows: the day levels are estimates.
		return throttle.BucketState{Bucket: throttle.Bucket{Kind: k, Window: w, Limit: limit, Period: period}, Level: level, Shown: w == headers.Minute}
	}
	snap := throttle.Snapshot{Buckets: []throttle.BucketState{
		b(headers.Requests, headers.Minute, 100, 100, time.Minute),
		b(headers.Requests, headers.Day, 3000, 4000, 24*time.Hour),
		b(headers.Complexity, headers.Minute, 10, 200, time.Minute),
		b(headers.Complexity, headers.Day, 20, 8000, 24*time.Hour),
	}}
	memIt := throttle.Cost{Requests: 1, Complexity: 40}
	// cpx/day lacks 20 tokens (5.4 min at 8000 a day), cpx/min 30 (9 s).
	assert.Equal(t, []string{"cpx/day ~20/8000", "cpx/min 10/200", "req/min 100/100", "req/day ~3000/4000"}, levels(snap, memIt))
	assert.Equal(t, "waiting for cpx/day and cpx/min tokens", waitingNote(snap, memIt))
	note := throttle.Cost{Requests: 1, Complexity: 1}
	// None short: by spare, cpx/min 9 tokens (2.7 s), req/min 99 (59.4 s),
	// cpx/day 19 (3.4 min), req/day 2999 (18 h).
	assert.Equal(t, []string{"cpx/min 10/200", "req/min 100/100", "cpx/day ~20/8000", "req/day ~3000/4000"}, levels(snap, note))
	assert.Equal(t, "waiting for cpx/min tokens", waitingNote(snap, note), "the tightest, at the instant it refills")
	snap.Reserve = throttle.Cost{Complexity: 25}
	assert.Equal(t, "cpx/day ~20/8000", levels(snap, note)[0], "the reserve counts")
	assert.Equal(t, "waiting for cpx/day and cpx/min tokens", waitingNote(snap, note))
}

// TestProgressLogsTheFinalLineOnce: without a terminal, the final line
// ("imported 7 of 7, done") was logged twice when a line logged before
// finish had already shown it: a tick's, or (seen with memmock) the final
// update's, when a tick that ran late left the next one not due.
func TestProgressLogsTheFinalLineOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := throttle.New(throttle.DefaultPolicy())
		require.NoError(t, err)
		cost := throttle.Cost{Requests: 1, Complexity: 1}

		var out strings.Builder
		p := newProgress(&out, false, nil, th, 2, cost)
		time.Sleep(5 * time.Second)
		p.update(counts{imported: 2}) // not due: logged by the tick at 10 s
		time.Sleep(6 * time.Second)
		p.finish()
		assert.Equal(t, 1, strings.Count(out.String(), "imported 2 of 2, done"), out.String())
		assert.Equal(t, 2, strings.Count(out.String(), "\n"), "the first line, and the final one once: %q", out.String())

		out.Reset()
		p = newProgress(&out, false, nil, th, 2, cost)
		p.update(counts{imported: 1}) // not due: the final line is finish's
		p.finish()
		assert.Equal(t, 1, strings.Count(out.String(), "imported 1 of 2"), out.String())
	})
}

// TestProgressETACountsEachCallOnce: the ETA priced the calls still to
// settle on top of the calls queued in the throttle, which are among them,
// so a call waiting for its tokens counted twice. 7 mem-its from full
// buckets: 5 at once, then one every 12 s, the last at 24 s; the line
// logged at 10 s said "ETA about 38 s", where 14 s were left.
func TestProgressETACountsEachCallOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 7)
		start := time.Now()
		code, out, errOut := cli(context.Background(), srv, "", "import", "--mock", "--via", "mem-it", "--concurrency", "4", dir)
		require.Equal(t, exitOK, code, out+errOut)
		end := time.Since(start)
		require.Equal(t, 24*time.Second, end.Round(time.Second), "the optimum")
		etas := regexp.MustCompile(`(\d\d):(\d\d):(\d\d) imported \d of 7, (?:[^,;]*, )?ETA about (\d+) s`).FindAllStringSubmatch(errOut, -1)
		require.Len(t, etas, 3, errOut)
		for _, m := range etas {
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			s, _ := strconv.Atoi(m[3])
			at := time.Date(start.Year(), start.Month(), start.Day(), h, mi, s, 0, start.Location()).Sub(start.Truncate(time.Second))
			eta, _ := strconv.Atoi(m[4])
			assert.InDelta(t, (end - at).Seconds(), float64(eta), 2, "at %v: %q", at, m[0])
		}
	})
}

// TestProgressNamesUnknownOutcomes: a mem-it of unknown outcome is not
// "failed" (the summary does not count it so): the progress names it.
func TestProgressNamesUnknownOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := throttle.New(throttle.DefaultPolicy())
		require.NoError(t, err)
		var out strings.Builder
		p := newProgress(&out, false, nil, th, 8, throttle.MemCost("POST", "/v2/mem-it"))
		p.update(counts{imported: 5, unknown: 1})
		assert.Equal(t, "6/8 (1 outcome unknown)", p.parts().count)
		p.update(counts{imported: 5, failed: 2, unknown: 1})
		p.finish()
		assert.Contains(t, out.String(), "imported 5 of 8, 2 failed, 1 outcome unknown, done")
	})
}
