package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/memsdk/mem-go/examples/internal/demotest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExampleRuns(t *testing.T) {
	out := demotest.Run(t, main)
	t.Log(out)
	assert.Contains(t, out, "300 note creates from 16 goroutines, and a search or a Get every 83ms")
	line := regexp.MustCompile(`(?m)^  (one FIFO queue|priorities|priorities \+ reserve): +foreground p50 (\S+) +p99 (\S+) +max (\S+) +\((\d+) calls\); import .*; 429s (\d+)$`)
	p99 := map[string]time.Duration{}
	for _, m := range line.FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[3])
		require.NoError(t, err)
		p99[m[1]] = d
		assert.Equal(t, "0", m[6], "%s: 429s", m[1])
		assert.NotEqual(t, "0", m[5], "%s: foreground calls", m[1])
	}
	require.Len(t, p99, 3, "one line per set-up")
	// One FIFO queue keeps a foreground call behind up to 16 queued
	// creates (160 ms at the mock's pace); priorities, behind one token
	// (10 ms) at most.
	assert.Less(t, p99["priorities"], p99["one FIFO queue"]/2)
	assert.Less(t, p99["priorities + reserve"], p99["one FIFO queue"]/2)
}

// TestRefusesARealServerWithoutOptIn: with MEM_API_KEY set, the example
// used to write to that account at once; it now says where and what, and
// needs MEM_EXAMPLES_REAL=1.
func TestRefusesARealServerWithoutOptIn(t *testing.T) {
	demotest.RefusesRealServer(t, main)
}
