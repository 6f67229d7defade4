//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// resizeSignals delivers SIGWINCH, the terminal's "my size changed".
func resizeSignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	return ch, func() { signal.Stop(ch) }
}
