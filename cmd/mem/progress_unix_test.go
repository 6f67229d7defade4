//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/throttle"
)

// TestProgressRedrawsOnResize sends the process a real SIGWINCH after the
// terminal shrank: the display goes up over the rows its old, longer line
// now wraps onto, and draws a line that fits.
func TestProgressRedrawsOnResize(t *testing.T) {
	tty, ptmx, output := openPTY(t, 200)
	th, err := throttle.New(throttle.DefaultPolicy())
	require.NoError(t, err)
	resize, stop := resizeSignals()
	defer stop()
	p := newProgress(tty, true, resize, th, 10, throttle.MemCost("POST", "/v2/notes"))
	p.update(counts{imported: 3})
	p.mu.Lock()
	wide := p.drawn
	p.mu.Unlock()
	require.Greater(t, wide, 100, "the whole line at 200 columns: it wraps at 60")

	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Cols: 60, Rows: 24}))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		drawn := p.drawn
		p.mu.Unlock()
		if drawn < 60 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no redraw after SIGWINCH")
		time.Sleep(10 * time.Millisecond) // polling a real signal's effect, not timing behaviour
	}
	p.finish()
	tty.Close()
	out := <-output
	assert.Contains(t, out, fmt.Sprintf("\x1b[%dA", (wide-1)/60), "up to the first row of the wrapped line")
	lines := drawnLines(out)
	assert.Less(t, utf8.RuneCountInString(lines[len(lines)-1]), 60)
}
