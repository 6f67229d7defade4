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

// TestEstimatesSayTheyAssumeFullBuckets: the plan (and --dry-run, which
// sends nothing) said "Time: no wait (it fits in the buckets as they are)",
// and the first progress line showed full buckets, before any response had
// told the levels. Until one has, they say what they assume.
func TestEstimatesSayTheyAssumeFullBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		journal := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "Time: no wait, from full buckets: no response read yet (if the key was used today, it may take longer).")
		assert.NotContains(t, out, "as they are")

		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--json", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		var pl map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &pl))
		assert.Equal(t, false, pl["levels_measured"])
		assert.Empty(t, srv.Journal(), "a dry run sends nothing")

		big := docs(t, 300)
		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--dry-run", big)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "Time: about 12 h 0 min, from full buckets: no response read yet (if the key was used today, it may take longer).")

		// Without a terminal the progress logs a line at the start: no
		// levels yet. The last line has them.
		code, _, errOut = cli(t.Context(), srv, "", "import", "--mock", dir)
		require.Equal(t, exitOK, code, errOut)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		var progress []string
		for _, l := range lines {
			if strings.Contains(l, " imported ") {
				progress = append(progress, l)
			}
		}
		require.GreaterOrEqual(t, len(progress), 2, errOut)
		assert.Contains(t, progress[0], "buckets not measured yet")
		assert.NotContains(t, progress[0], "req/min 100/100")
		assert.Contains(t, progress[len(progress)-1], "buckets req/min ")
	})
}
