//go:build unix

package redisstore_test

import (
	"syscall"
	"testing"
)

// sigStop and sigCont stall a redis-server and let it go on.
var sigStop, sigCont = syscall.SIGSTOP, syscall.SIGCONT

// needSigStop does nothing: this system has sigStop and sigCont.
func needSigStop(testing.TB) {}
