//go:build !unix

package cputime

import (
	"testing"
	"time"
)

// Process skips tb: the process's CPU time is read with getrusage, which
// this system does not have.
func Process(tb testing.TB) time.Duration {
	tb.Skip("measuring the process's CPU time needs getrusage (unix only)")
	return 0
}
