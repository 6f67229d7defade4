//go:build !unix

package redisstore_test

import (
	"os"
	"testing"
)

// sigStop and sigCont are not signals this system has: needSigStop skips
// the tests that would send them.
var sigStop, sigCont os.Signal

// needSigStop skips the test: it stalls redis-server with SIGSTOP and
// SIGCONT, which this system does not have.
func needSigStop(tb testing.TB) {
	tb.Skip("stalling redis-server needs SIGSTOP and SIGCONT (unix only)")
}
