package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestJournalBelongsToItsServerAndKey: a journal used to record outcomes
// only, so importing the same folder into a second server printed "43
// already done, imported: 0", exit 0, and left that server empty. Now the
// journal names its server and key (by fingerprint, never the key), and a
// run for another one is refused before anything is sent, with the way out.
func TestJournalBelongsToItsServerAndKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keyA, keyB = "sk-first-secret-key", "sk-second-secret-key"
		a := mock.MustNew(mock.Config{Keys: []string{keyA, keyB}})
		b := mock.MustNew(mock.Config{Keys: []string{keyA}})
		dir := docs(t, 3)
		journal := filepath.Join(t.TempDir(), "mem-import.journal")
		onA := map[string]string{"MEM_API_KEY": keyA, "MEM_API_URL": "http://a.test"}
		code, out, errOut := cliWith(t.Context(), a.RoundTripper(), onA, "import", dir, "--journal", journal)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "imported: 3")
		data, err := os.ReadFile(journal)
		require.NoError(t, err)
		assert.Contains(t, string(data), `"server":"http://a.test"`)
		sum := sha256.Sum256([]byte(keyA))
		assert.Contains(t, string(data), `"key_sha256_prefix":"`+hex.EncodeToString(sum[:8])+`"`)
		assert.NotContains(t, string(data), keyA, "never the key")

		// Another server, same folder and journal: refused, nothing sent.
		onB := map[string]string{"MEM_API_KEY": keyA, "MEM_API_URL": "http://b.test/"}
		for _, dry := range []bool{false, true} {
			args := []string{"import", dir, "--journal", journal}
			if dry {
				args = append(args, "--dry-run")
			}
			code, out, errOut = cliWith(t.Context(), b.RoundTripper(), onB, args...)
			assert.Equal(t, exitUsage, code, "dry run %v: %s", dry, out)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "was written for http://a.test (key fingerprint ")
			assert.Contains(t, errOut, "this run is for http://b.test (key fingerprint ")
			assert.Contains(t, errOut, "--new-journal")
			assert.Contains(t, errOut, "--journal FILE")
			assert.Empty(t, b.Journal(), "nothing sent to the second server")
		}

		// Another key on the same server: refused too.
		otherKey := map[string]string{"MEM_API_KEY": keyB, "MEM_API_URL": "http://a.test"}
		sent := len(a.Journal())
		code, _, errOut = cliWith(t.Context(), a.RoundTripper(), otherKey, "import", dir, "--journal", journal)
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, errOut, "another API key")
		assert.NotContains(t, errOut, keyB)
		assert.Equal(t, sent, len(a.Journal()))

		// --new-journal starts afresh and keeps the old one beside it.
		code, out, errOut = cliWith(t.Context(), b.RoundTripper(), onB, "import", dir, "--journal", journal, "--new-journal")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "imported: 3")
		assert.Len(t, b.Notes(keyA), 3)
		assert.Contains(t, errOut, "the old journal is now "+journal+".")
		old, err := filepath.Glob(journal + ".*.old")
		require.NoError(t, err)
		require.Len(t, old, 1)
		data, err = os.ReadFile(old[0])
		require.NoError(t, err)
		assert.Contains(t, string(data), `"server":"http://a.test"`)

		// The new journal is the second server's: the same command resumes.
		code, out, errOut = cliWith(t.Context(), b.RoundTripper(), onB, "import", dir, "--journal", journal)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "already done (journal): 3")
	})
}

// TestJournalWithoutAHeader: a journal written before journals named their
// server still loads, is taken as this run's (with a notice), and is bound
// to it from then on. A journal that settled nothing (a wrong key's run)
// may be taken over by another key.
func TestJournalWithoutAHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		journal := filepath.Join(t.TempDir(), "j")
		vars := map[string]string{"MEM_API_KEY": mock.DefaultKey, "MEM_API_URL": "http://mem.test"}
		code, _, errOut := cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", journal)
		require.Equal(t, exitOK, code, errOut)
		data, err := os.ReadFile(journal)
		require.NoError(t, err)
		var legacy []string
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if !strings.Contains(line, "mem_import_journal") {
				legacy = append(legacy, line)
			}
		}
		require.Len(t, legacy, 3)
		require.NoError(t, os.WriteFile(journal, []byte(strings.Join(legacy, "\n")+"\n"), 0o644))

		code, out, errOut := cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", journal)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "already done (journal): 3")
		assert.Contains(t, errOut, "does not say which server it was written for")
		assert.Contains(t, errOut, "taking its 3 documents as done on http://mem.test")

		vars["MEM_API_URL"] = "http://elsewhere.test"
		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", journal)
		assert.Equal(t, exitUsage, code, "bound to the first server now")
		assert.Contains(t, errOut, "was written for http://mem.test")

		// A wrong key's run records one failure and settles nothing: the
		// right key may use its journal.
		fresh := filepath.Join(t.TempDir(), "j2")
		vars = map[string]string{"MEM_API_KEY": "wrong", "MEM_API_URL": "http://mem.test"}
		code, _, _ = cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", fresh)
		assert.Equal(t, exitFailed, code)
		vars["MEM_API_KEY"] = mock.DefaultKey
		code, out, errOut = cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", fresh)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "already in Mem (earlier run): 3")
	})
}

// TestKeepAsideNeverOverwrites: two --new-journal runs in the same second
// keep both old journals (a rename onto the first name lost it), and the
// new one takes the journal's name.
func TestKeepAsideNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path, repl := filepath.Join(dir, "j"), filepath.Join(dir, "new")
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	require.NoError(t, os.WriteFile(path, []byte("first"), 0o600))
	var kept []string
	for _, next := range []string{"second", "third"} {
		require.NoError(t, os.WriteFile(repl, []byte(next), 0o600))
		old, err := keepAside(path, repl, now)
		require.NoError(t, err)
		kept = append(kept, old)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, next, string(got), "the new one is at the journal's name")
	}
	require.NotEqual(t, kept[0], kept[1])
	for i, want := range []string{"first", "second"} {
		got, err := os.ReadFile(kept[i])
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	_, err := os.Stat(repl)
	assert.ErrorIs(t, err, fs.ErrNotExist, "the new one is moved")
}

// TestJournalOwnerIgnoresHowTheURLIsWritten: the default URL written with
// another case, its default port or a trailing slash is the same server.
func TestJournalOwnerIgnoresHowTheURLIsWritten(t *testing.T) {
	a := newJournalOwner("https://api.mem.ai", "k")
	for _, s := range []string{"https://api.mem.ai/", "HTTPS://API.mem.ai", "https://api.mem.ai:443"} {
		assert.True(t, a.same(journalOwner{Server: s, KeyFingerprint: a.KeyFingerprint}), s)
	}
	assert.False(t, a.same(newJournalOwner("https://api.mem.ai:8443", "k")))
	assert.False(t, a.same(newJournalOwner("http://api.mem.ai", "k")))
	assert.False(t, a.same(newJournalOwner("https://api.mem.ai", "other")))
}

// TestNewJournalPlansAfreshAndKeepsNoEmptyJournal: a dry run with
// --new-journal plans as if the journal were new (a journal of another
// server does not refuse it, and nothing is moved), and --new-journal keeps
// no copy of an empty journal.
func TestNewJournalPlansAfreshAndKeepsNoEmptyJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mock.MustNew(mock.Config{}), mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		journal := filepath.Join(t.TempDir(), "j")
		onA := map[string]string{"MEM_API_KEY": mock.DefaultKey, "MEM_API_URL": "http://a.test"}
		onB := map[string]string{"MEM_API_KEY": mock.DefaultKey, "MEM_API_URL": "http://b.test"}
		code, _, errOut := cliWith(t.Context(), a.RoundTripper(), onA, "import", dir, "--journal", journal)
		require.Equal(t, exitOK, code, errOut)

		code, out, errOut := cliWith(t.Context(), b.RoundTripper(), onB, "import", dir, "--journal", journal, "--new-journal", "--dry-run")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "3 documents: 0 already done, 0 skipped, 3 to import.")
		old, err := filepath.Glob(journal + ".*.old")
		require.NoError(t, err)
		assert.Empty(t, old, "a dry run moves nothing")

		empty := filepath.Join(t.TempDir(), "empty")
		require.NoError(t, os.WriteFile(empty, nil, 0o644))
		code, _, errOut = cliWith(t.Context(), b.RoundTripper(), onB, "import", dir, "--journal", empty, "--new-journal")
		require.Equal(t, exitOK, code, errOut)
		old, err = filepath.Glob(empty + ".*.old")
		require.NoError(t, err)
		assert.Empty(t, old, "an empty journal is not kept")
	})
}
