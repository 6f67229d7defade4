package main

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// unknownJournal writes a journal for the documents of dir (read for
// mem-it) with the given outcomes, by index, and returns its path and the
// documents' keys.
func unknownJournal(t *testing.T, dir string, outcomes map[int]string) (string, []string) {
	items, err := readSources([]string{dir}, nil, viaMemIt)
	require.NoError(t, err)
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	path := filepath.Join(t.TempDir(), "j")
	j, err := holdJournal(path)
	require.NoError(t, err)
	for i, outcome := range outcomes {
		require.NoError(t, j.Record(journalEntry{Key: keys[i], Outcome: outcome, Via: viaMemIt, At: time.Now()}))
	}
	require.NoError(t, j.Close())
	return path, keys
}

// TestAcceptUnknownRecordsThemAsInMem: a mem-it of unknown outcome failed
// every later run, and the only ways out sent it again (--retry-unknown,
// --new-journal). Once the user found it in Mem, --accept-unknown records
// it as done, for good: that run and every later one sends it no more. It
// touches nothing else: a document that failed is sent, a new one too.
func TestAcceptUnknownRecordsThemAsInMem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 4)
		// 0: answer lost; 1: in flight when its run died; 2: failed; 3: new.
		path, keys := unknownJournal(t, dir, map[int]string{0: outcomeUnknown, 1: outcomeSending, 2: outcomeFailed})
		args := []string{"import", "--mock", "--via", viaMemIt, "--journal", path, dir}

		code, out, errOut := cli(t.Context(), srv, "", append(args, "--accept-unknown")...)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, "imported: 2\n")
		assert.Contains(t, out, "recorded as in Mem (--accept-unknown): 2\n  doc-000.md: "+reasonAccepted+"\n  doc-001.md: ")
		assert.Len(t, srv.Notes(mock.DefaultKey), 2, "the failed and the new one, nothing sent again")
		j, err := readJournal(path)
		require.NoError(t, err)
		for i, k := range keys {
			e, _ := j.Lookup(k)
			assert.Equal(t, outcomeDone, e.Outcome, k)
			assert.Equal(t, i < 2, e.Reason == reasonAccepted, "%s: %s", k, e.Reason)
		}

		code, out, errOut = cli(t.Context(), srv, "", args...)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, "already done (journal): 4")
		assert.Len(t, srv.Notes(mock.DefaultKey), 2, "nothing sent, ever")
	})
}

// TestAcceptUnknownDryRunAndConflicts: --dry-run says what it would record
// and writes nothing; --accept-unknown with --retry-unknown is a usage
// error; without either, the unknown outcome is reported with both ways on.
func TestAcceptUnknownDryRunAndConflicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 2)
		path, _ := unknownJournal(t, dir, map[int]string{0: outcomeUnknown})
		before, err := os.ReadFile(path)
		require.NoError(t, err)
		args := []string{"import", "--mock", "--via", viaMemIt, "--journal", path, dir}

		code, out, errOut := cli(t.Context(), srv, "", append(args, "--accept-unknown", "--dry-run")...)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, "1 of unknown outcome to record as in Mem (--accept-unknown), 1 to import")
		assert.Contains(t, out, "1 document of unknown outcome would be recorded as in Mem (--accept-unknown):\n  doc-000.md: "+reasonToAccept+"\n")
		after, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(before), string(after), "a dry run writes nothing")

		code, out, errOut = cli(t.Context(), srv, "", append(args, "--accept-unknown", "--retry-unknown")...)
		assert.Equal(t, exitUsage, code, out+errOut)
		assert.Contains(t, errOut, "--retry-unknown and --accept-unknown do not go together")
		assert.Empty(t, srv.Notes(mock.DefaultKey))

		code, out, errOut = cli(t.Context(), srv, "", args...)
		require.Equal(t, exitFailed, code, out+errOut)
		assert.Contains(t, out, "outcome unknown (mem-it): 1")
		assert.Contains(t, out, "rerun with --accept-unknown if it is there")
		assert.Contains(t, out, "--retry-unknown to send it again")
	})
}
