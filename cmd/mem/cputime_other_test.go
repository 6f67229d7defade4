//go:build !unix

package main

import (
	"testing"
	"time"
)

// cpuTime skips: the process's CPU time is read with getrusage, which this
// system does not have.
func cpuTime(tb testing.TB) time.Duration {
	tb.Skip("measuring the process's CPU time needs getrusage (unix only)")
	return 0
}
