package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestJSONLMemItFieldsUnderNotesAreWarnedOf: JSONL lines written for
// mem-it ("input" with "instructions", "context", "timestamp") imported
// without --via mem-it silently became plain notes, their instructions
// dropped. The plan now says how many lines carry fields --via notes
// ignores, and how to send them through mem-it: in the dry run, the run,
// and the dry run's JSON. It still imports them as notes, as asked.
func TestJSONLMemItFieldsUnderNotesAreWarnedOf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := t.TempDir()
		lines := `{"input": "Met Ana", "instructions": "file under People"}
{"content": "Groceries", "context": "shopping"}
{"input": "Call Bo", "timestamp": "1999-01-02T03:04:05Z"}
{"input": "Plain input"}
{"content": "Plain note", "created_at": "1999-01-02T03:04:05Z"}
`
		src := filepath.Join(dir, "lines.jsonl")
		require.NoError(t, os.WriteFile(src, []byte(lines), 0o644))
		journal := filepath.Join(t.TempDir(), "j")
		warning := "Warning: 3 JSONL lines carry mem-it fields that --via notes ignores"
		how := "import them with --via mem-it"

		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--journal", journal, src)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, warning)
		assert.Contains(t, out, how)

		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--json", "--journal", journal, src)
		require.Equal(t, exitOK, code, out+errOut)
		var pl map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &pl))
		assert.EqualValues(t, 3, pl["ignored_mem_it_fields"])

		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--dry-run", "--journal", journal, src)
		require.Equal(t, exitOK, code, out+errOut)
		assert.NotContains(t, out+errOut, "Warning", "mem-it reads them")

		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--journal", journal, src)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, errOut, warning)
		assert.Contains(t, out, "imported: 5")
		assert.Len(t, srv.Notes(mock.DefaultKey), 5, "imported as notes, as asked")
	})
}
