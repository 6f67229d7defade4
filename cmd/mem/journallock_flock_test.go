//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestUnlockableJournalIsSaid: on a file system that cannot lock (NFS
// without its lock service: ENOLCK or EOPNOTSUPP) the import runs, and says
// on standard error that nothing keeps a second import of the journal out;
// --quiet leaves the notice out.
func TestUnlockableJournalIsSaid(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOLCK, syscall.EOPNOTSUPP} {
		t.Run(errno.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				flock = func(int, int) error { return errno }
				defer func() { flock = syscall.Flock }()
				dir := docs(t, 2)
				path := filepath.Join(t.TempDir(), "j")
				notice := "The file system of " + path + " cannot lock it: do not run two imports of it at once.\n"
				for _, args := range [][]string{
					{"import", "--mock", "--journal", path, dir},
					{"import", "--mock", "--new-journal", "--journal", path, dir},
				} {
					code, out, errOut := cli(t.Context(), mock.MustNew(mock.Config{}), "", args...)
					require.Equal(t, exitOK, code, out+errOut)
					assert.Contains(t, errOut, notice, args)
				}
				code, out, errOut := cli(t.Context(), mock.MustNew(mock.Config{}), "", "import", "--mock", "--quiet", "--journal", path, dir)
				require.Equal(t, exitOK, code, out+errOut)
				assert.NotContains(t, errOut, "cannot lock")
			})
		})
	}
}

// TestLockedJournalSaysNothing: a journal that locks gets no notice.
func TestLockedJournalSaysNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), mock.MustNew(mock.Config{}), "", "import", "--mock", "--journal", path, docs(t, 1))
		require.Equal(t, exitOK, code, out+errOut)
		assert.NotContains(t, errOut, "cannot lock")
	})
}
