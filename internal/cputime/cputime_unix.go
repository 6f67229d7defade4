//go:build unix

package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Process returns the CPU time (user and system) the process has used so
// far, for benchmarks that report CPU per operation.
func Process(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
