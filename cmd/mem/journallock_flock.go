//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package main

import (
	"errors"
	"os"
	"syscall"
)

// journalLocking says whether lockFile locks: it does here, with flock(2).
const journalLocking = true

// flock is flock(2); tests replace it.
var flock = syscall.Flock

// lockFile takes an exclusive flock(2) on f without waiting: errLocked when
// another open file holds it. The kernel releases it when f is closed or
// the process dies, so no stale lock is left behind. A file system that
// cannot lock (ENOLCK, EOPNOTSUPP: NFS without its lock service) gives
// errCannotLock.
func lockFile(f *os.File) error {
	err := flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return errLocked
	case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EOPNOTSUPP):
		return errCannotLock
	}
	return err
}
