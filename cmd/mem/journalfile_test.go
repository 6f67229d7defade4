package main

import (
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

// TestAFileThatIsNotAJournalIsLeftAlone: `--journal notes/todo.md`, a typo
// naming a note, used to exit 0 with the journal's header and records
// appended to the note. Now an existing file with no line a journal holds
// is refused (exit 2, naming the file by its absolute path) before anything
// is sent, and the file keeps its bytes and its time, with every way of
// opening the journal: a run, --new-journal (which would have moved the
// note aside), --dry-run, and both.
func TestAFileThatIsNotAJournalIsLeftAlone(t *testing.T) {
	for _, extra := range [][]string{nil, {"--new-journal"}, {"--dry-run"}, {"--new-journal", "--dry-run"}, {"--json"}} {
		t.Run(strings.Join(append([]string{"args"}, extra...), " "), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mock.MustNew(mock.Config{})
				dir := docs(t, 2)
				notes := t.TempDir()
				path := filepath.Join(notes, "todo.md")
				require.NoError(t, os.WriteFile(path, []byte("One doc\n"), 0o644))
				past := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
				require.NoError(t, os.Chtimes(path, past, past))

				args := append([]string{"import", "--mock", dir, "--journal", path}, extra...)
				code, out, errOut := cli(t.Context(), srv, "", args...)
				require.Equal(t, exitUsage, code, out+errOut)
				msg := errOut
				if len(extra) > 0 && extra[0] == "--json" {
					lines := strings.Split(strings.TrimSpace(errOut), "\n")
					e := decodeError(t, lines[len(lines)-1])
					assert.Equal(t, "usage", e.Type)
					msg = e.Message
				}
				assert.Contains(t, msg, path+" is not an import journal")
				assert.Contains(t, msg, "--journal")

				got, err := os.ReadFile(path)
				require.NoError(t, err)
				assert.Equal(t, "One doc\n", string(got), "the note is as it was")
				info, err := os.Stat(path)
				require.NoError(t, err)
				assert.True(t, info.ModTime().Equal(past), "not written to: %v", info.ModTime())
				left, err := os.ReadDir(notes)
				require.NoError(t, err)
				assert.Len(t, left, 1, "nothing moved aside or created beside it")
				assert.Empty(t, srv.Notes(mock.DefaultKey), "nothing sent")
			})
		})
	}
}

// TestJournalsStillOpen: what the refusal must not refuse. A missing or
// empty file, a journal with its header, one written by a mem that wrote
// no header (its first line an outcome), and one whose first line a crash
// tore (a torn header, then records; a record, torn, then others) are all
// journals: refused, the user would start a new one and send its mem-its
// again.
func TestJournalsStillOpen(t *testing.T) {
	empty := ""
	entry := `{"key":"doc-000.md#0000000000000000","outcome":"failed","via":"notes","at":"2025-01-01T00:00:00Z"}` + "\n"
	tornHeader := `{"mem_import_journal":1,"ser` + "\n" + entry
	tornEntry := entry[:30] + "\n" + entry
	tornAlone := `{"mem_import_journal":1,"server":"ht`
	for name, content := range map[string]*string{
		"missing":           nil,
		"empty":             &empty,
		"old format":        &entry,
		"torn header":       &tornHeader,
		"torn first record": &tornEntry,
		"torn header alone": &tornAlone,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mock.MustNew(mock.Config{})
				dir := docs(t, 2)
				path := filepath.Join(t.TempDir(), "j")
				if content != nil {
					require.NoError(t, os.WriteFile(path, []byte(*content), 0o644))
				}
				code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", dir, "--journal", path)
				require.Equal(t, exitOK, code, out+errOut)
				// Now it has a header: the next run opens it too.
				code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", dir, "--journal", path)
				require.Equal(t, exitOK, code, out+errOut)
				assert.Contains(t, out, "already done (journal): 2")
			})
		})
	}
}
