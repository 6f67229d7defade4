package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestJournalErrorsSayWhereWhyAndWhat: a journal that could not be opened
// said "mem: journal: open mem-import.journal: permission denied". Now the
// message names the file by its absolute path, gives the system's reason
// once, and says what to do.
func TestJournalErrorsSayWhereWhyAndWhat(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	abs := filepath.Join(wd, "mem-import.journal")
	for errno, advice := range map[syscall.Errno]string{
		syscall.EACCES: "check that you may write in " + wd + ", or pass --journal FILE",
		syscall.EROFS:  "check that you may write in " + wd + ", or pass --journal FILE",
		syscall.ENOSPC: "free some space, then run the same command again",
		syscall.EISDIR: "it is a folder: pass --journal FILE",
	} {
		err := &journalFileError{"mem-import.journal", "open", &fs.PathError{Op: "open", Path: "mem-import.journal", Err: errno}}
		want := "cannot open the journal " + abs + ": " + errno.Error() + "; " + advice
		assert.True(t, strings.HasPrefix(err.Error(), want), "%q\ndoes not start with\n%q", err, want)
		assert.NotContains(t, err.Error(), "open mem-import.journal:", "the raw OS error is gone")
		assert.ErrorIs(t, err, errno)
	}
}

// TestJournalErrorsThroughTheCLI: the same words reach the user, whether
// the import or its dry run opens the journal.
func TestJournalErrorsThroughTheCLI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 1)
		tmp := t.TempDir()

		missing := filepath.Join(tmp, "missing", "j")
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", dir, "--journal", missing)
		require.Equal(t, exitFailed, code, out+errOut)
		assert.Contains(t, errOut, "mem: cannot open the journal "+missing+": no such file or directory; the folder "+filepath.Dir(missing)+" does not exist: create it, or pass --journal FILE")

		file := filepath.Join(tmp, "file")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		under := filepath.Join(file, "j")
		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", dir, "--dry-run", "--journal", under)
		require.Equal(t, exitFailed, code, out+errOut)
		assert.Contains(t, errOut, "mem: cannot open the journal "+under+": not a directory; "+file+" is not a folder: pass --journal FILE")
		assert.Empty(t, srv.Notes(mock.DefaultKey), "nothing sent")
	})
}
