package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
)

// TestLocalRefusalsAreSkipped: a document the client refuses before
// sending (front matter with created_at in the future) counted as failed and
// made every run exit 1, though the help says that documents that can never
// be imported as they are are skipped. They are skipped now, with the
// reason, and the dry run lists them.
func TestLocalRefusalsAreSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := writeFiles(t, map[string]string{
			"good.md":     "Good\n\nA note.",
			"future.md":   "---\nid: \"3b0c7e61-5d0a-4a56-9d39-0d8c3b9e2f10\"\ntitle: \"Future\"\ncreated_at: \"2999-01-01T00:00:00Z\"\n---\n\nFuture\n\nWritten ahead of time.",
			"lines.jsonl": "{\"content\":\"Later\",\"updated_at\":\"2999-01-01T00:00:00Z\"}\n{\"content\":\"Now\"}\n",
		})
		journal := filepath.Join(t.TempDir(), "j")

		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "4 documents: 0 already done, 2 skipped, 2 to import.")
		assert.Contains(t, out, "future.md: created_at 2999-01-01T00:00:00Z is in the future: Mem refuses it")
		assert.Contains(t, out, "lines.jsonl:1: updated_at 2999-01-01T00:00:00Z is in the future: Mem refuses it")

		for range 2 {
			code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--journal", journal, dir)
			assert.Equal(t, exitOK, code, out+errOut)
			assert.Contains(t, out, "skipped: 2")
			assert.Contains(t, out, "future.md: created_at 2999-01-01T00:00:00Z is in the future")
			assert.Contains(t, out, "lines.jsonl:1: updated_at 2999-01-01T00:00:00Z is in the future")
			assert.Contains(t, out, "failed: 0")
		}
		assert.Len(t, srv.Notes(mock.DefaultKey), 2)

		// With mem-it, a JSONL timestamp in the future is skipped too.
		code, out, errOut = cli(t.Context(), srv, "{\"input\":\"Later\",\"timestamp\":\"2999-01-01T00:00:00Z\"}\n", "import", "--mock", "--via", "mem-it", "--dry-run", "-")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "stdin:1: timestamp 2999-01-01T00:00:00Z is in the future: Mem refuses it")
	})
}

// refusingAPI refuses, before sending, the item whose key is bad.
type refusingAPI struct {
	instantAPI
	bad string
}

func (a refusingAPI) CreateNote(_ context.Context, _ string, it item, _ []string) error {
	if it.Key == a.bad {
		return &memclient.ValidationError{Field: "content", Problem: "is not valid UTF-8"}
	}
	return nil
}

// TestValidationErrorAtSendIsSkipped: whatever the client refuses before
// sending counts as skipped, with its reason, and is not journalled (the
// next run checks it again); the server's own refusals stay failures.
func TestValidationErrorAtSendIsSkipped(t *testing.T) {
	j := memoryJournal()
	var shown counts
	im := &importer{api: refusingAPI{bad: "b.md"}, journal: j, via: viaNotes, concurrency: 2, limit: -1,
		progress: func(c counts) { shown = c }}
	todo := []item{{Key: "a.md", Where: "a.md"}, {Key: "b.md", Where: "b.md"}, {Key: "c.md", Where: "c.md"}}
	s, err := im.work(t.Context(), todo, nil, newSummary())
	require.NoError(t, err)
	assert.Equal(t, 2, s.Imported)
	assert.Empty(t, s.Failed)
	require.Len(t, s.Skipped, 1)
	assert.Equal(t, "b.md", s.Skipped[0].Where)
	assert.Contains(t, s.Skipped[0].Reason, "refused before sending: content is not valid UTF-8")
	assert.True(t, s.complete(), "a skipped document does not make the run fail")
	_, ok := j.Lookup("b.md")
	assert.False(t, ok, "not journalled")
	assert.Equal(t, 3, shown.imported+shown.failed+shown.skipped, "the progress reaches the end")
}

// TestNotesCreateAndMemItRefuseWhatImportSkips: notes create and mem-it
// sent a binary file that mem import skips as "a binary file", and an
// empty file failed with "mem: invalid content: is required", exit 1. Now
// each is refused before any call, exit 2, naming the file and what is
// wrong with it.
func TestNotesCreateAndMemItRefuseWhatImportSkips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := writeFiles(t, map[string]string{
			"bin.md":   "\x00\x01\x02binary",
			"latin.md": "caf\xe9",
			"empty.md": "",
			"blank.md": " \n\t\n",
			"big.md":   strings.Repeat("x", memclient.MaxNoteContent+1),
		})
		file := func(name string) string { return filepath.Join(dir, name) }
		for _, c := range []struct {
			args  []string
			stdin string
			want  string
		}{
			{[]string{"notes", "create", file("bin.md")}, "", file("bin.md") + " is a binary file: nothing was sent"},
			{[]string{"mem-it", file("bin.md")}, "", file("bin.md") + " is a binary file: nothing was sent"},
			{[]string{"notes", "update", "8ec59e52-491e-526b-8ebc-e67a685862bd", file("bin.md")}, "", file("bin.md") + " is a binary file"},
			{[]string{"mem-it", "-"}, "\x00\x01\x02binary", "standard input is a binary file: nothing was sent"},
			{[]string{"notes", "create", file("latin.md")}, "", file("latin.md") + " is not valid UTF-8 text: nothing was sent"},
			{[]string{"notes", "create", file("empty.md")}, "", "mem: " + file("empty.md") + " is empty: nothing to send\n"},
			{[]string{"mem-it", file("empty.md")}, "", "mem: " + file("empty.md") + " is empty: nothing to send\n"},
			{[]string{"mem-it", file("blank.md")}, "", file("blank.md") + " is empty: nothing to send"},
			{[]string{"notes", "create", "-"}, "", "standard input is empty: nothing to send"},
			{[]string{"notes", "create", "--content", ""}, "", "--content is empty: nothing to send"},
			{[]string{"notes", "create", file("big.md")}, "", file("big.md") + ": the content is 200001 characters; at most 200000 allowed"},
			{[]string{"mem-it", "--instructions", strings.Repeat("i", memclient.MaxMemItInstructions+1), "-"}, "text", "--instructions: instructions is 10001 characters"},
		} {
			code, out, errOut := cli(t.Context(), srv, c.stdin, append(c.args, "--mock")...)
			assert.Equal(t, exitUsage, code, "%v: %s", c.args, errOut)
			assert.Empty(t, out, c.args)
			assert.Contains(t, errOut, c.want, c.args)
		}
		assert.Empty(t, srv.Journal(), "no call was sent")
	})
}
