package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/memsdk/mem-go/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEverydayCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		code, _, errOut := cli(t.Context(), srv, "", "import", "--mock", "--collection", "Imported", dir)
		require.Equal(t, exitOK, code, errOut)

		code, out, errOut := cli(t.Context(), srv, "", "notes", "list", "--mock", "--json")
		require.Equal(t, exitOK, code, errOut)
		var list struct {
			Notes []struct{ ID, Title string }
		}
		require.NoError(t, json.Unmarshal([]byte(out), &list))
		notes := list.Notes
		require.Len(t, notes, 3)

		code, out, _ = cli(t.Context(), srv, "", "notes", "get", "--mock", notes[0].ID)
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "Body of document")

		code, out, _ = cli(t.Context(), srv, "", "notes", "search", "--mock", "document", "1")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "Document 1")

		code, out, _ = cli(t.Context(), srv, "", "collections", "list", "--mock")
		require.Equal(t, exitOK, code)
		assert.Regexp(t, `\s3\s+Imported`, out)

		code, out, _ = cli(t.Context(), srv, "", "limits", "--mock")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "requests    minute window")

		code, out, _ = cli(t.Context(), srv, "Met Ana about the garden.", "mem-it", "--mock", "-")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "sent: request")
		assert.Len(t, srv.Notes(mock.DefaultKey), 4)

		code, _, errOut = cli(t.Context(), srv, "", "notes", "get", "--mock", "not-a-uuid")
		assert.Equal(t, exitUsage, code, "a malformed id is a usage error")
		assert.True(t, strings.Contains(errOut, "uuid") || strings.Contains(errOut, "UUID"), errOut)
	})
}

// TestNotesListSaysWhenThereAreMore: the list used to stop at 50 without a
// word. Now it says how many there are and how to see them.
func TestNotesListSaysWhenThereAreMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, _, errOut := cli(t.Context(), srv, "", "import", "--mock", docs(t, 120))
		require.Equal(t, exitOK, code, errOut)

		code, out, errOut := cli(t.Context(), srv, "", "notes", "list", "--mock")
		require.Equal(t, exitOK, code)
		assert.Equal(t, 51, strings.Count(out, "\n"), "a header and 50 notes")
		assert.Contains(t, errOut, "Showing 50 of 120 notes: --limit N or --all for more.")

		code, out, errOut = cli(t.Context(), srv, "", "notes", "list", "--mock", "--all")
		require.Equal(t, exitOK, code)
		assert.Equal(t, 121, strings.Count(out, "\n"))
		assert.NotContains(t, errOut, "Showing")

		code, _, errOut = cli(t.Context(), srv, "", "notes", "list", "--mock", "--limit", "0")
		assert.Equal(t, exitUsage, code, errOut)
	})
}

func TestPlurals(t *testing.T) {
	assert.Equal(t, "1 note", plural(1, "note", "notes"))
	assert.Equal(t, "0 notes", plural(0, "note", "notes"))
	assert.Equal(t, "2 notes", plural(2, "note", "notes"))
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, out, _ := cli(t.Context(), srv, "", "import", "--mock", "--dry-run", docs(t, 1))
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "1 document: 0 already done, 0 skipped, 1 to import.\nCalls: 1 note creation.\nTokens: 1 request, 1 complexity.\nTime: no wait")
	})
}

// TestJSONLCollectionTitlesAreCreated: collection_titles in a JSONL file
// used to be passed to Mem, which drops titles it does not know: the notes
// landed in no collection. Now they behave like --collection.
func TestJSONLCollectionTitlesAreCreated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(
			`{"content":"A","collection_titles":["Books"]}`+"\n"+
				`{"content":"B","collection_titles":["books","Films"]}`+"\n"+
				`{"content":"C","collection_titles":[""]}`+"\n"), 0o644))
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", dir, "--collection", "Inbox")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, `in.jsonl:3: an empty title in "collection_titles"`)
		counts := map[string]int{}
		for _, c := range srv.Collections(mock.DefaultKey) {
			counts[c.Title] = c.NoteCount
		}
		assert.Equal(t, map[string]int{"Books": 2, "Films": 1, "Inbox": 2}, counts)

		// With mem-it, which has no collections, such a line is skipped
		// with the reason, not silently stripped.
		code, out, _ = cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", dir)
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, `in.jsonl:1: "collection_titles" needs --via notes`)
	})
}

// TestWriteCommands: notes create, update, delete, restore; collections
// create, add, remove, delete, in text.
func TestWriteCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		run := func(stdin string, args ...string) string {
			t.Helper()
			code, out, errOut := cli(t.Context(), srv, stdin, append(args, "--mock", "--quiet")...)
			require.Equal(t, exitOK, code, "%q: %s", args, errOut)
			return out
		}
		out := run("Groceries\n\n- miso", "notes", "create", "-", "--collection", "Home")
		require.Regexp(t, `^created note [0-9a-f-]{36}: Groceries\n$`, out)
		id := strings.Fields(out)[2]
		id = strings.TrimSuffix(id, ":")
		assert.Equal(t, "updated note "+id+": Shopping (version 2)\n", run("", "notes", "update", id, "--content", "Shopping\n\n- miso\n- salmon"))
		note := srv.Notes(mock.DefaultKey)[0]
		assert.Equal(t, "Shopping\n\n- miso\n- salmon", note.Content)
		assert.Len(t, note.CollectionIDs, 1)

		code, _, errOut := cli(t.Context(), srv, "", "notes", "update", id, "--content", "x", "--if-version", "1", "--mock")
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, errOut, "changed since version 1 (it is at version 2): nothing was updated")

		assert.Contains(t, run("", "notes", "delete", id), "moved note "+id+" to the trash")
		assert.NotNil(t, srv.Notes(mock.DefaultKey)[0].TrashedAt)
		assert.Contains(t, run("", "notes", "restore", id), "restored note "+id)
		assert.Nil(t, srv.Notes(mock.DefaultKey)[0].TrashedAt)

		out = run("", "collections", "create", "Reading list")
		assert.Regexp(t, `^created collection [0-9a-f-]{36}: Reading list\n$`, out)
		assert.Equal(t, "added 1 note to collection "+srv.Collections(mock.DefaultKey)[collectionIndex(srv, "Reading list")].ID+"\n", run("", "collections", "add", "reading list", id))
		assert.Contains(t, run("", "collections", "remove", "Reading list", id), "removed 1 note from collection")
		assert.Contains(t, run("", "collections", "delete", "Reading list"), "(its notes stay)")
		assert.Len(t, srv.Collections(mock.DefaultKey), 1)

		code, _, errOut = cli(t.Context(), srv, "", "collections", "delete", "No such", "--mock")
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, errOut, `no collection is titled "No such"`)

		assert.Contains(t, run("", "notes", "delete", id, "--permanently"), "deleted note "+id+" for good")
		assert.Empty(t, srv.Notes(mock.DefaultKey))
	})
}

func collectionIndex(srv *mock.Server, title string) int {
	for i, c := range srv.Collections(mock.DefaultKey) {
		if c.Title == title {
			return i
		}
	}
	return -1
}

// TestMalformedNoteIDIsAUsageError: "mem notes get not-a-uuid" exited 1 as
// if a call had failed; it is a command-line mistake (exit 2), found before
// any call. Usage hints name the command's own help ("mem import --help"),
// not always "mem --help".
func TestMalformedNoteIDIsAUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"notes", "get", "--mock", "not-a-uuid"},
		{"notes", "delete", "--mock", "42"},
		{"notes", "restore", "--mock", "x"},
		{"notes", "update", "--mock", "nope", "--content", "x"},
		{"collections", "add", "--mock", "Inbox", "8ec59e52-491e-526b-8ebc-e67a685862bd", "bad"},
	} {
		code, out, errOut := cli(context.Background(), nil, "", args...)
		assert.Equal(t, exitUsage, code, "%q: %s", args, errOut)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "is not a note ID", "%q", args)
		assert.Contains(t, errOut, "Run 'mem "+args[0]+" "+args[1]+" --help' for usage.", "%q", args)
	}
	for args, help := range map[string]string{
		"import --bogus x": "mem import --help",
		"frobnicate":       "mem --help",
		"notes frobnicate": "mem notes --help",
		"limits extra":     "mem limits --help",
	} {
		code, _, errOut := cli(context.Background(), nil, "", strings.Fields(args)...)
		assert.Equal(t, exitUsage, code, args)
		assert.Contains(t, errOut, "Run '"+help+"' for usage.", args)
	}
}

// TestLimitsSaysWhichLevelsAreEstimates: the headers show one window per
// kind (the most constrained), and mem limits printed the mirror's guess
// for the others as if read ("complexity day 7999.0 of 8000" when the
// server held less). Now each bucket says where its level comes from, and
// an estimate reads as the upper bound it is.
func TestLimitsSaysWhichLevelsAreEstimates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		require.True(t, srv.Spend(mock.DefaultKey, 0, 150)) // complexity: minute 50 of 200, day 7850 of 8000
		code, out, errOut := cli(t.Context(), srv, "", "limits", "--mock")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "complexity  minute window: 49 of 200 left")
		assert.Regexp(t, `complexity\s+minute\s+49\.0\s+200\s+\S+\s+server\n`, out)
		assert.Regexp(t, `complexity\s+day\s+≤7999\.0\s+8000\s+≥\S+\s+estimate\n`, out, "a guess, and says so")
		assert.Contains(t, out, "An estimate is this client's own reckoning")

		code, out, errOut = cli(t.Context(), srv, "", "limits", "--mock", "--json")
		require.Equal(t, exitOK, code, errOut)
		var res limitsOutput
		require.NoError(t, json.Unmarshal([]byte(out), &res), out)
		sources := map[string]string{}
		for _, b := range res.Buckets {
			sources[b.Kind+"/"+b.Window] = b.Source
		}
		assert.Equal(t, map[string]string{"requests/minute": "server", "requests/day": "estimate",
			"complexity/minute": "server", "complexity/day": "estimate"}, sources)
	})
}

// TestEmptyListsSaySo: an empty notes list printed only its header row on
// stdout (and "No notes." on stderr, gone with --quiet). Now the result
// says "no notes", even with --quiet.
func TestEmptyListsSaySo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		for args, want := range map[string]string{
			"notes list":       "no notes\n",
			"notes search zzz": "no notes match\n",
			"collections list": "no collections\n",
		} {
			for _, quiet := range []bool{false, true} {
				argv := append(strings.Fields(args), "--mock")
				if quiet {
					argv = append(argv, "--quiet")
				}
				code, out, _ := cli(t.Context(), srv, "", argv...)
				require.Equal(t, exitOK, code, args)
				assert.Equal(t, want, out, "%s (quiet %v)", args, quiet)
			}
		}
	})
}

// TestCreatingADuplicateCollectionTitleWarns: creating "Reading" twice
// made two collections of that title silently, after which every command
// naming it by title failed. The second create now warns (the title
// matches case-insensitively, as a title names a collection), and still
// creates it.
func TestCreatingADuplicateCollectionTitleWarns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, out, errOut := cli(t.Context(), srv, "", "collections", "create", "--mock", "--quiet", "Reading")
		require.Equal(t, exitOK, code, errOut)
		assert.Empty(t, errOut, "a new title: no warning")
		first := strings.TrimSuffix(strings.Fields(out)[2], ":")

		code, out, errOut = cli(t.Context(), srv, "", "collections", "create", "--mock", "--quiet", "reading")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "created collection ")
		assert.Equal(t, `Warning: 1 collection was already titled "reading" (`+first+`): commands that take a collection by title will ask for an id.`+"\n", errOut)

		code, _, errOut = cli(t.Context(), srv, "", "collections", "create", "--mock", "--json", "READING")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, errOut, `Warning: 2 collections were already titled "READING" (`)
		assert.Contains(t, errOut, first)
	})
}

// TestNotesDeleteSaysItTrashes: notes delete moves a note to the trash,
// while the library's Notes.Delete deletes for good; the help and the
// success message say which, and only --permanently deletes.
func TestNotesDeleteSaysItTrashes(t *testing.T) {
	code, out, _ := cli(context.Background(), nil, "", "notes", "--help")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "Move a note to the trash (--permanently: delete it for good)")
	code, out, _ = cli(context.Background(), nil, "", "notes", "delete", "--help")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "Moves a note to the trash, not deleting it")

	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, out, errOut := cli(t.Context(), srv, "", "notes", "create", "--mock", "--quiet", "--content", "Groceries")
		require.Equal(t, exitOK, code, errOut)
		id := strings.TrimSuffix(strings.Fields(out)[2], ":")
		code, out, errOut = cli(t.Context(), srv, "", "notes", "delete", "--mock", "--quiet", id)
		require.Equal(t, exitOK, code, errOut)
		assert.Equal(t, "moved note "+id+" to the trash, not deleted\n(mem notes restore brings it back)\n", out)
		assert.NotNil(t, srv.Notes(mock.DefaultKey)[0].TrashedAt, "in the trash, not deleted")
	})
}
