package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestProgressAgreesWithTheSummaryOnResume: documents an earlier run
// created (found there: a 409) were counted as imported by the progress
// line, "imported 4 of 4, done", while the summary said "imported: 2" and
// "already in Mem (earlier run): 2". Now the line counts them apart, in
// the summary's words.
func TestProgressAgreesWithTheSummaryOnResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 2)
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--journal", filepath.Join(t.TempDir(), "j1"), dir)
		require.Equal(t, exitOK, code, out+errOut)
		for i := 2; i < 4; i++ {
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("doc-%03d.md", i)), []byte(fmt.Sprintf("# Document %d", i)), 0o644))
		}

		// Another journal: the first two are found in Mem.
		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--journal", filepath.Join(t.TempDir(), "j2"), dir)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, out, "imported: 2\n")
		assert.Contains(t, out, "already in Mem (earlier run): 2\n")
		assert.Contains(t, errOut, " imported 2 of 4, 2 already in Mem, done;")
		assert.NotContains(t, errOut, "imported 4 of 4")
	})
}
