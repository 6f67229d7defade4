package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
)

// TestExportRoundTrip: export writes a Markdown file per note with its id,
// times and collections; importing the folder again creates nothing; into
// an empty account it recreates the notes with their ids, contents,
// times and collections.
func TestExportRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, _, errOut := cli(t.Context(), srv, "", "import", "--mock", docs(t, 150), "--collection", "Imported", "--collection", "Archive")
		require.Equal(t, exitOK, code, errOut)
		time.Sleep(time.Hour) // the export's notes are older than the run
		out := filepath.Join(t.TempDir(), "export")
		calls := len(srv.Journal())
		code, stdout, errOut := cli(t.Context(), srv, "", "export", "--mock", out)
		require.Equal(t, exitOK, code, errOut)
		assert.Equal(t, "exported 150 notes to "+out+": 150 written, 0 unchanged (took 0s)\n", stdout)
		assert.Equal(t, calls+1+2, len(srv.Journal()), "one collections page and two pages of notes")

		files, err := filepath.Glob(filepath.Join(out, "*.md"))
		require.NoError(t, err)
		require.Len(t, files, 150)
		data, err := os.ReadFile(filepath.Join(out, exportName(noteItem(srv.Notes(mock.DefaultKey)[0]))))
		require.NoError(t, err)
		fm, body := parseFrontMatter(string(data))
		first := srv.Notes(mock.DefaultKey)[0]
		assert.Equal(t, first.ID, fm.ID)
		assert.Equal(t, first.Content, strings.TrimSuffix(body, "\n"))
		assert.True(t, first.CreatedAt.Equal(fm.CreatedAt))
		sort.Strings(fm.Collections)
		assert.Equal(t, []string{"Archive", "Imported"}, fm.Collections)

		// Again: nothing changed, nothing written.
		code, stdout, _ = cli(t.Context(), srv, "", "export", "--mock", out)
		require.Equal(t, exitOK, code)
		assert.Contains(t, stdout, "0 written, 150 unchanged")

		// Into the same account: every note is already there.
		code, stdout, errOut = cli(t.Context(), srv, "", "import", "--mock", out)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, stdout, "imported: 0")
		assert.Contains(t, stdout, "already in Mem (earlier run): 150")
		assert.Len(t, srv.Notes(mock.DefaultKey), 150, "no duplicate")
		assert.Len(t, srv.Collections(mock.DefaultKey), 2, "no duplicate collection")

		// Into an empty account: the same notes, ids, times, collections.
		fresh := mock.MustNew(mock.Config{})
		code, stdout, errOut = cli(t.Context(), fresh, "", "import", "--mock", out)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, stdout, "imported: 150")
		want := map[string]mock.Note{}
		for _, n := range srv.Notes(mock.DefaultKey) {
			want[n.ID] = n
		}
		for _, n := range fresh.Notes(mock.DefaultKey) {
			w, ok := want[n.ID]
			require.True(t, ok, "note %s keeps its id", n.ID)
			assert.Equal(t, w.Content, n.Content)
			assert.True(t, w.CreatedAt.Equal(n.CreatedAt), "created_at kept")
			assert.Len(t, n.CollectionIDs, 2)
		}
		titles := []string{}
		for _, c := range fresh.Collections(mock.DefaultKey) {
			titles = append(titles, c.Title)
			assert.Equal(t, 150, c.NoteCount)
		}
		sort.Strings(titles)
		assert.Equal(t, []string{"Archive", "Imported"}, titles)
	})
}

// TestExportResumes: an export interrupted part-way writes only the rest
// when run again, and a changed note is written again.
func TestExportResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, _, _ := cli(t.Context(), srv, "", "import", "--mock", docs(t, 250))
		require.Equal(t, exitOK, code)
		out := t.TempDir()
		// Spend the minute's requests so the export must wait, then stop it
		// mid-way.
		require.True(t, srv.Spend(mock.DefaultKey, 99, 99))
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(1500*time.Millisecond, cancel)
		code, _, errOut := cli(ctx, srv, "", "export", "--mock", out)
		assert.Equal(t, exitInterrupted, code, errOut)
		assert.Contains(t, errOut, "Run the same command again to resume.")
		files, _ := filepath.Glob(filepath.Join(out, "*.md"))
		require.NotEmpty(t, files)
		require.Less(t, len(files), 250)
		partial := len(files)

		code, stdout, errOut := cli(t.Context(), srv, "", "export", "--mock", out)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, stdout, "exported 250 notes")
		assert.Contains(t, stdout, "unchanged")
		files, _ = filepath.Glob(filepath.Join(out, "*.md"))
		assert.Len(t, files, 250)
		t.Logf("interrupted after %d files", partial)

		// A note changes: its file is written again, under its new title.
		n := srv.Notes(mock.DefaultKey)[0]
		code, _, errOut = cli(t.Context(), srv, "", "notes", "update", n.ID, "--content", "Renamed\n\nnew body", "--mock")
		require.Equal(t, exitOK, code, errOut)
		code, stdout, _ = cli(t.Context(), srv, "", "export", "--mock", out)
		require.Equal(t, exitOK, code)
		assert.Contains(t, stdout, "1 written, 249 unchanged")
		files, _ = filepath.Glob(filepath.Join(out, "*.md"))
		assert.Len(t, files, 250, "the old name is gone")
		assert.FileExists(t, filepath.Join(out, "renamed-"+strings.ReplaceAll(n.ID, "-", "")[:8]+".md"))
	})
}

func TestFrontMatterThatIsNotOursIsContent(t *testing.T) {
	for _, text := range []string{
		"---\ntitle: Hello\n---\nbody",                            // no id
		"---\nid: \"not-a-uuid\"\n---\nbody",                      // a bad id
		"---\nid: 0b6f6c1e-\n---\nbody",                           // not JSON
		"---\nid: \"0b6f6c1e-2a6b-4c1e-8f3e-1a2b3c4d5e6f\"\nbody", // never closed
	} {
		fm, body := parseFrontMatter(text)
		assert.Empty(t, fm.ID, text)
		assert.Equal(t, text, body)
	}
}

// noteItem is what the list endpoint would say of n.
func noteItem(n mock.Note) memclient.NoteItem {
	return memclient.NoteItem{ID: n.ID, Title: n.Title, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
}
