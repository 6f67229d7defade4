package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestJournalInUseIsRefused: while one import holds the journal, a second
// import of it is refused at once, exit 2, naming the journal, before any
// call; --new-journal does not move it aside; a dry run still plans from
// it. Once the first lets go, the import runs.
func TestJournalInUseIsRefused(t *testing.T) {
	if !journalLocking {
		t.Skip("no journal locking on this platform")
	}
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		path := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--journal", path, dir)
		require.Equal(t, exitOK, code, out+errOut)
		before, err := os.ReadFile(path)
		require.NoError(t, err)

		held, err := holdJournal(path) // another import, running
		require.NoError(t, err)
		calls := len(srv.Journal())
		for _, args := range [][]string{
			{"import", "--mock", "--journal", path, dir},
			{"import", "--mock", "--via", "mem-it", "--journal", path, dir},
			{"import", "--mock", "--new-journal", "--journal", path, dir},
		} {
			code, out, errOut := cli(t.Context(), srv, "", args...)
			assert.Equal(t, exitUsage, code, "%v: %s", args, out+errOut)
			assert.Contains(t, errOut, "the journal "+path+" is in use by another mem import", args)
			assert.NotContains(t, errOut, "for usage", "the command line was right: %v", args)
		}
		code, _, errOut = cli(t.Context(), srv, "", "import", "--mock", "--json", "--journal", path, dir)
		assert.Equal(t, exitUsage, code)
		lines := strings.Split(strings.TrimSpace(errOut), "\n") // after --mock's notice
		assert.Equal(t, "journal_in_use", decodeError(t, lines[len(lines)-1]).Type, errOut)
		assert.Len(t, srv.Journal(), calls, "no call made")
		after, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, before, after, "the journal is where it was, as it was")
		aside, err := filepath.Glob(path + ".*")
		require.NoError(t, err)
		assert.Empty(t, aside, "nothing moved aside")

		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--journal", path, dir)
		assert.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, "3 already done")

		require.NoError(t, held.Close())
		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--journal", path, dir)
		assert.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, "already done (journal): 3")
	})
}

// TestNewJournalLocksTheNewOne: --new-journal moves the old journal aside
// and runs on a new one, which it holds: another import of it is refused
// meanwhile, and the old one is free.
func TestNewJournalLocksTheNewOne(t *testing.T) {
	path := seededJournal(t)
	j := takeNewJournal(t, path)
	defer j.Close()
	_, ok := j.Lookup("a.md")
	assert.False(t, ok, "a new journal")
	_, err := holdJournal(path)
	var busy *journalBusyError
	assert.ErrorAs(t, err, &busy, "the new one is held")
	aside, err := filepath.Glob(path + ".*.old")
	require.NoError(t, err)
	require.Len(t, aside, 1)
	old, err := holdJournal(aside[0])
	require.NoError(t, err, "the old one is let go")
	require.NoError(t, old.Close())
}

// TestNewJournalLeavesNoGap: while --new-journal replaces a journal, its
// path always names a file the run holds: an import that opens it while the
// old one is being moved aside is refused, and does not run on a journal of
// its own (it did, when the old one was removed before the new one was
// created).
func TestNewJournalLeavesNoGap(t *testing.T) {
	path := seededJournal(t)
	raced := false
	hookAside = func() {
		raced = true
		other, err := holdJournal(path)
		if err == nil {
			other.Close()
		}
		var busy *journalBusyError
		assert.ErrorAs(t, err, &busy, "the journal is held while the old one is moved aside")
	}
	defer func() { hookAside = nil }()
	j := takeNewJournal(t, path)
	defer j.Close()
	require.True(t, raced)
	_, ok := j.Lookup("a.md")
	assert.False(t, ok, "a new journal")
	left, err := filepath.Glob(path + ".*.new")
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left")
}

// TestLockJournalFollowsAReplacedFile: an import that opened the old
// journal just before --new-journal replaced it, and locks it just after
// (when the old one is let go), lets it go and opens the new one, which
// --new-journal holds: it is refused, not run on the old one.
func TestLockJournalFollowsAReplacedFile(t *testing.T) {
	path := seededJournal(t)
	var fresh *journal
	hookOpened = func() {
		hookOpened = nil // the --new-journal run's own opens go through
		fresh = takeNewJournal(t, path)
	}
	defer func() { hookOpened = nil }()
	_, err := holdJournal(path)
	require.NotNil(t, fresh, "the hook ran")
	defer fresh.Close()
	var busy *journalBusyError
	assert.ErrorAs(t, err, &busy, "the new journal is held")
}

// seededJournal is a journal with one document done, where journals lock
// (else the test is skipped).
func seededJournal(t *testing.T) string {
	t.Helper()
	if !journalLocking {
		t.Skip("no journal locking on this platform")
	}
	path := filepath.Join(t.TempDir(), "j")
	require.NoError(t, os.WriteFile(path, []byte(`{"key":"a.md","outcome":"done","via":"notes","at":"2025-01-01T00:00:00Z"}`+"\n"), 0o644))
	return path
}

// takeNewJournal takes path as an import with --new-journal does.
func takeNewJournal(t *testing.T, path string) *journal {
	t.Helper()
	o := &importOptions{g: &globals{quiet: true}, journalPath: path, newJournal: true}
	j, err := o.takeJournal(&cliEnv{stderr: os.Stderr})
	require.NoError(t, err)
	return j
}
