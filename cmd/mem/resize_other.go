//go:build !unix

package main

import "os"

// resizeSignals delivers nothing where there is no SIGWINCH: the progress
// line keeps the width it started with.
func resizeSignals() (<-chan os.Signal, func()) { return nil, func() {} }
