package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// badSubjectEmail is a message whose subject decodes to invalid UTF-8: the
// file is valid text, the note it makes is not.
const badSubjectEmail = "Subject: =?UTF-8?Q?Bad=FFsubject?=\nFrom: a@example.com\n\nBody.\n"

// TestDryRunListsEveryLocalRefusal: a folder with one document of each kind
// the client refuses before sending. The dry run lists each as skipped with
// the reason the real run gives; the real run skips the same ones, sends
// nothing for them (no note, no collection, no mem-it), and imports the
// rest. Before the dry run used the client's own checks, it listed only the
// times in the future.
func TestDryRunListsEveryLocalRefusal(t *testing.T) {
	fm := func(id, extra string) string {
		return "---\nid: \"" + id + "\"\ntitle: \"T\"\n" + extra + "---\n\nT\n\nBody."
	}
	notes := map[string]string{
		"good.md":       "Good\n\nA note.",
		"future.md":     fm("3b0c7e61-5d0a-4a56-9d39-0d8c3b9e2f10", "created_at: \"2999-01-01T00:00:00Z\"\n"),
		"braces.md":     fm("{3b0c7e61-5d0a-4a56-9d39-0d8c3b9e2f11}", ""),
		"long-title.md": fm("3b0c7e61-5d0a-4a56-9d39-0d8c3b9e2f12", "collections: [\""+strings.Repeat("c", 1001)+"\"]\n"),
		"no-title.md":   fm("3b0c7e61-5d0a-4a56-9d39-0d8c3b9e2f13", "collections: [\"\"]\n"),
		"subject.eml":   badSubjectEmail,
		"lines.jsonl": "{\"content\":\"Ancient\",\"created_at\":\"0000-06-01T00:00:00Z\"}\n" +
			"{\"content\":\"Later\",\"updated_at\":\"2999-01-01T00:00:00Z\"}\n",
	}
	wantNotes := map[string]string{
		"future.md":     "created_at 2999-01-01T00:00:00Z is in the future: Mem refuses it (fix it, or import once that time has passed)",
		"braces.md":     "refused before sending: id is not a UUID (want the 36-character form)",
		"long-title.md": "refused before sending: collection_titles is 1001 characters; at most 1000 allowed",
		"no-title.md":   "refused before sending: collection_titles is required",
		"subject.eml":   "refused before sending: content is not valid UTF-8",
		"lines.jsonl:1": "refused before sending: created_at year 0 is outside 1–9999",
		"lines.jsonl:2": "updated_at 2999-01-01T00:00:00Z is in the future: Mem refuses it (fix it, or import once that time has passed)",
	}
	memIt := map[string]string{
		"good.txt":    "A meeting.",
		"subject.eml": badSubjectEmail,
		"lines.jsonl": "{\"input\":\"Later\",\"timestamp\":\"2999-01-01T00:00:00Z\"}\n" +
			"{\"input\":\"Ancient\",\"timestamp\":\"0000-06-01T00:00:00Z\"}\n" +
			"{\"input\":\"Long\",\"instructions\":\"" + strings.Repeat("i", 10_001) + "\"}\n",
	}
	wantMemIt := map[string]string{
		"subject.eml":   "refused before sending: input is not valid UTF-8",
		"lines.jsonl:1": "timestamp 2999-01-01T00:00:00Z is in the future: Mem refuses it (fix it, or import once that time has passed)",
		"lines.jsonl:2": "refused before sending: timestamp year 0 is outside 1–9999",
		"lines.jsonl:3": `"instructions" is over 10000 characters (refused)`,
	}
	for _, tc := range []struct {
		via        string
		files      map[string]string
		want       map[string]string
		sendPath   string
		importable int
	}{
		{viaNotes, notes, wantNotes, "/v2/notes", 1},
		{viaMemIt, memIt, wantMemIt, "/v2/mem-it", 1},
	} {
		t.Run(tc.via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := writeFiles(t, tc.files)
				srv := mock.MustNew(mock.Config{})
				journal := filepath.Join(t.TempDir(), "j")
				args := []string{"import", "--mock", "--json", "--via", tc.via, "--journal", journal, dir}

				code, out, errOut := cli(t.Context(), srv, "", append(args, "--dry-run")...)
				require.Equal(t, exitOK, code, errOut)
				var plan importPlan
				require.NoError(t, json.Unmarshal([]byte(out), &plan), out)
				assert.Equal(t, tc.want, reasons(plan.Skipped), "the dry run lists every local refusal")
				assert.Equal(t, tc.importable, plan.Calls)
				assert.Empty(t, srv.Journal(), "the dry run sends nothing")

				code, out, errOut = cli(t.Context(), srv, "", args...)
				require.Equal(t, exitOK, code, out+errOut)
				var s summary
				require.NoError(t, json.Unmarshal([]byte(out), &s), out)
				assert.Equal(t, plan.Skipped, s.Skipped, "the run skips the same documents, for the same reasons")
				assert.Equal(t, tc.importable, s.Imported)
				assert.Empty(t, s.Failed)

				var paths []string
				for _, e := range srv.Journal() {
					paths = append(paths, e.Method+" "+e.Path)
				}
				want := []string{"POST " + tc.sendPath}
				if tc.via == viaMemIt {
					want = append([]string{"GET /v2/collections"}, want...) // the warm-up
				}
				assert.Equal(t, want, paths, "one call: the importable document's")
				assert.Empty(t, srv.Collections(mock.DefaultKey), "no collection of a refused document was created")
			})
		})
	}
}

// reasons maps where to why.
func reasons(fs []failure) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Where] = f.Reason
	}
	return m
}

// TestImportFlagsTheClientRefuses: --instructions, --context and
// --collection go in every request, so a value the client refuses is a
// usage error, named by the client's own check, before anything is read or
// sent.
func TestImportFlagsTheClientRefuses(t *testing.T) {
	dir := docs(t, 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--via", "mem-it", "--instructions", "a\xffb"}, "--instructions: instructions is not valid UTF-8"},
		{[]string{"--via", "mem-it", "--context", strings.Repeat("c", 10_001)}, "--context: context is 10001 characters; at most 10000 allowed"},
		{[]string{"--collection", strings.Repeat("é", 600)}, "--collection: title is 1200 UTF-8 bytes; at most 1000 allowed"},
	} {
		srv := mock.MustNew(mock.Config{})
		code, _, errOut := cli(t.Context(), srv, "", append(append([]string{"import", "--mock"}, tc.args...), dir)...)
		assert.Equal(t, exitUsage, code, tc.want)
		assert.Contains(t, errOut, tc.want)
		assert.Empty(t, srv.Journal(), tc.want)
	}
}
