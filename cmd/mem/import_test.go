package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs the command in process against srv and returns the exit code and
// what it printed.
func cli(ctx context.Context, srv *mock.Server, stdin string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	env := &cliEnv{ctx: ctx, stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, mock: srv, getenv: noEnv}
	code := runWith(env, args)
	return code, stdout.String(), stderr.String()
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// docs writes n small Markdown documents and returns their folder.
func docs(t *testing.T, n int) string {
	dir := t.TempDir()
	for i := range n {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("doc-%03d.md", i)), []byte(fmt.Sprintf("# Document %d\n\nBody of document %d.", i, i)), 0o644))
	}
	return dir
}

// contentsOnce checks that the mock holds each document's content exactly once.
func contentsOnce(t *testing.T, srv *mock.Server, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, note := range srv.Notes(mock.DefaultKey) {
		seen[note.Title]++
	}
	for i := range n {
		assert.Equal(t, 1, seen[fmt.Sprintf("# Document %d", i)]+seen[fmt.Sprintf("Document %d", i)], "document %d", i)
	}
	assert.Len(t, srv.Notes(mock.DefaultKey), n)
}

func TestImport300NotesAtTheOptimum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 300)
		journal := filepath.Join(t.TempDir(), "j")
		start := time.Now()
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--journal", journal, "--concurrency", "8", dir)
		took := time.Since(start)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "imported: 300")
		assert.Zero(t, srv.Count429())
		contentsOnce(t, srv, 300)

		optimum := throttle.DefaultPolicy().Optimum(throttle.Calls{N: 300, Cost: throttle.MemCost("POST", "/v2/notes")})
		t.Logf("300 notes: %s, optimum %s", took, optimum)
		assert.LessOrEqual(t, took.Seconds(), optimum.Seconds()*1.01)

		// The same command again: nothing to do, nothing sent.
		sent := len(srv.Journal())
		code, out, _ = cli(t.Context(), srv, "", "import", "--mock", "--journal", journal, dir)
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "already done (journal): 300")
		assert.Equal(t, sent, len(srv.Journal()), "no call made")

		// Without the journal: every create meets its id, nothing duplicated.
		code, out, _ = cli(t.Context(), srv, "", "import", "--mock", "--journal", journal+".new", dir)
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "already in Mem (earlier run): 300")
		contentsOnce(t, srv, 300)
	})
}

func TestImport12MemItsAtTheOptimum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 12)
		start := time.Now()
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--journal", filepath.Join(t.TempDir(), "j"), dir)
		took := time.Since(start)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "imported: 12")
		assert.Zero(t, srv.Count429())
		assert.Len(t, srv.Notes(mock.DefaultKey), 12)
		optimum := throttle.DefaultPolicy().Optimum(throttle.Calls{N: 12, Cost: throttle.MemCost("POST", "/v2/mem-it")})
		assert.Equal(t, 84*time.Second, optimum, "5 at once, then 7 more every 12 s")
		assert.LessOrEqual(t, took.Seconds(), optimum.Seconds()*1.01)
	})
}

func TestImportInterruptedThenResumedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 300)
		journal := filepath.Join(t.TempDir(), "j")
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(40*time.Second, cancel) // mid-way: 100 at once, then one per 0.6 s
		code, out, errOut := cli(ctx, srv, "", "import", "--mock", "--journal", journal, dir)
		assert.Equal(t, exitInterrupted, code)
		assert.Contains(t, errOut, "Run the same command again to resume")
		assert.Contains(t, out, "not attempted")
		partial := len(srv.Notes(mock.DefaultKey))
		assert.Greater(t, partial, 100)
		assert.Less(t, partial, 300)

		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, fmt.Sprintf("imported: %d", 300-partial))
		contentsOnce(t, srv, 300)
	})
}

// TestImportInterruptedMidMemItNeverSendsItTwice: a mem-it in flight when
// the run is interrupted may have been processed; it is recorded as of
// unknown outcome, not as not attempted, and the next run does not send it
// again (mem-it has no id that would make a second send harmless).
func TestImportInterruptedMidMemItNeverSendsItTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Faults: mock.Faults{ResponseLatency: 5 * time.Second}})
		dir := docs(t, 1)
		journal := filepath.Join(t.TempDir(), "j")
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(7*time.Second, cancel) // after the 5 s warm-up, metered at once, answered after 5 s
		code, _, _ := cli(ctx, srv, "", "import", "--mock", "--via", "mem-it", "--journal", journal, dir)
		assert.Equal(t, exitInterrupted, code)
		synctest.Wait()
		require.Len(t, srv.Notes(mock.DefaultKey), 1, "the server processed it")

		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--journal", journal, dir)
		assert.NotEqual(t, exitOK, code, "an unknown outcome is reported: %s", out+errOut)
		assert.Contains(t, out+errOut, "--retry-unknown")
		assert.Len(t, srv.Notes(mock.DefaultKey), 1, "not sent again")
	})
}

func TestImportWithLostResponsesStillOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Faults: mock.Faults{LostRate: 0.1}, Seed: 7})
		dir := docs(t, 150)
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--journal", filepath.Join(t.TempDir(), "j"), dir)
		require.Equal(t, exitOK, code, out+errOut)
		contentsOnce(t, srv, 150)
		lost := 0
		for _, e := range srv.Journal() {
			if strings.Contains(e.Fault, "lost") {
				lost++
			}
		}
		assert.Positive(t, lost, "the fault fired")
		t.Logf("%d responses lost, every note once", lost)
	})
}

func TestImportMemItLostIsReportedNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultLost)
		dir := docs(t, 3)
		journal := filepath.Join(t.TempDir(), "j")
		code, out, _ := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--concurrency", "1", "--journal", journal, dir)
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, out, "outcome unknown (mem-it): 1")
		assert.Len(t, srv.Notes(mock.DefaultKey), 3, "the lost one arrived")

		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--journal", journal, dir)
		assert.Equal(t, exitFailed, code, "still unknown: not sent again")
		assert.Contains(t, errOut, "3 documents: 2 already done, 0 skipped, 1 of unknown outcome (check Mem: --accept-unknown if there, --retry-unknown to send again), 0 to import.", "the plan's counts add up")
		assert.Contains(t, out, "--retry-unknown")
		assert.Len(t, srv.Notes(mock.DefaultKey), 3)
	})
}

func TestImportDryRunPlan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 312)
		journal := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "Calls: 312 mem-it calls after a 1-token warm-up call (it reads the key's levels).\nTokens: 313 request, 12481 complexity.\nTime: about 13 h 27 min, from full buckets: no response read yet (if the key was used today, it may take longer).")
		assert.Contains(t, out, "day windows set the pace after 205 calls")
		assert.Empty(t, srv.Journal(), "a dry run sends nothing")
		assert.NoFileExists(t, journal, "a dry run writes nothing")
	})
}

// TestDryRunNeedsNoKey: a dry run failed with "no API key", though it
// sends nothing. Without a key it now plans from full buckets, saying so,
// and checks the journal's server (not its key); a real run still needs
// the key.
func TestDryRunNeedsNoKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		journal := filepath.Join(t.TempDir(), "j")
		noKey := map[string]string{"MEM_API_URL": "http://mem.test"}
		code, out, errOut := cliWith(t.Context(), srv.RoundTripper(), noKey, "import", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, errOut, "No API key (MEM_API_KEY): a dry run sends nothing and needs none; it plans from full buckets")
		assert.Contains(t, out, "3 documents: 0 already done, 0 skipped, 3 to import.")
		assert.Contains(t, out, "from full buckets: no response read yet")
		assert.Empty(t, srv.Journal(), "a dry run sends nothing")
		assert.NoFileExists(t, journal, "a dry run writes nothing")

		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), noKey, "import", "--journal", journal, dir)
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, errOut, "mem: no API key: set MEM_API_KEY")

		withKey := map[string]string{"MEM_API_URL": "http://mem.test", "MEM_API_KEY": mock.DefaultKey}
		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), withKey, "import", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		sent := len(srv.Journal())
		code, out, errOut = cliWith(t.Context(), srv.RoundTripper(), noKey, "import", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "3 documents: 3 already done, 0 skipped, 0 to import.", "the journal's key is not checked")

		otherServer := map[string]string{"MEM_API_URL": "http://other.test"}
		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), otherServer, "import", "--dry-run", "--journal", journal, dir)
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, errOut, "was written for http://mem.test")
		assert.Contains(t, errOut, "this run is for http://other.test (no API key): another server,", "no key is claimed for the run")
		assert.Equal(t, sent, len(srv.Journal()), "dry runs send nothing")
	})
}

func TestImportMalformedInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "good.md"), []byte("Good"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.txt"), []byte(" "), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "latin1.txt"), []byte("caf\xe9"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "lines.jsonl"), []byte("{\"content\":\"A\"}\n{oops\n{\"content\":\"B\",\"created_at\":\"2025-01-02T03:04:05\"}\n{\"content\":\"C\"}\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "blob.txt"), []byte("PK\x03\x04\x00\x00binary"), 0o644))
		journal := filepath.Join(t.TempDir(), "j")

		// The dry run says what will be skipped and why.
		code, out, _ := cli(t.Context(), srv, "", "import", "--mock", "--dry-run", "--journal", journal, dir)
		assert.Equal(t, exitOK, code)
		assert.Contains(t, out, "8 documents: 0 already done, 5 skipped, 3 to import.")
		assert.Contains(t, out, "5 documents would be skipped:")
		// Each named, in one form: relative to the folder on the command
		// line. Before, the dry run only counted them by reason, and the
		// report mixed "lines.jsonl:2" with the absolute "/tmp/…/blob.txt".
		assert.Contains(t, out, "\n  blob.txt: a binary file\n")
		assert.Contains(t, out, "\n  lines.jsonl:3: malformed JSON: parsing time")
		assert.NotContains(t, out, dir)

		// Documents that can never be imported are skipped, not failed:
		// they do not make this run, or any later one, exit 1.
		for range 2 {
			code, out, _ = cli(t.Context(), srv, "", "import", "--mock", "--journal", journal, dir)
			assert.Equal(t, exitOK, code, out)
			assert.Contains(t, out, "skipped: 5")
			assert.Contains(t, out, "failed: 0")
			assert.Contains(t, out, "empty.txt: empty document")
			assert.Contains(t, out, "latin1.txt: not valid UTF-8")
			assert.Contains(t, out, "blob.txt: a binary file")
			assert.Contains(t, out, "lines.jsonl:2: malformed JSON")
			assert.Contains(t, out, "lines.jsonl:3: malformed JSON")
			assert.NotContains(t, out, dir, "paths relative to the folder imported")
		}
		assert.Contains(t, out, "already done (journal): 3")
		assert.Len(t, srv.Notes(mock.DefaultKey), 3)
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"import"},
		{"import", "--via", "fax", "x"},
		{"import", "--no-such-flag", "x"},
		{"import", "--mock", "/no/such/dir"},
		{"notes", "frobnicate"},
		{"notes", "get", "--mock"},
		{"notes", "get", "--mock", "a", "b"},
		{"limits", "extra"},
		{"version", "extra"},
		{"completion", "tcsh"},
		{"import", "--mock", "--collection", "", "x"},
		{"import", "--mock", "--via", "mem-it", "--collection", "A", "x"},
		{"limits", "--mock", "--verbose", "--quiet"},
		{"notes", "list", "--mock", "--base-url", "http://x"},
		{"limits", "--base-url", "https://api.mem.ai/v2"},
	} {
		code, out, errOut := cli(context.Background(), nil, "", args...)
		assert.Equal(t, exitUsage, code, "%q: %s", args, errOut)
		assert.Empty(t, out, "%q: nothing on stdout", args)
		assert.Regexp(t, `Run 'mem( [a-z-]+)* --help' for usage.`, errOut, "%q", args)
	}
	for _, args := range [][]string{{}, {"-h"}, {"--help"}, {"help"}, {"notes"}, {"import", "-h"}, {"help", "import"}} {
		code, out, errOut := cli(context.Background(), nil, "", args...)
		assert.Equal(t, exitOK, code, "%q", args)
		assert.Contains(t, out, "Usage:", "%q: help on stdout", args)
		assert.Empty(t, errOut, "%q", args)
	}
	code, out, _ := cli(context.Background(), nil, "", "import", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "--stop-at-day-limit")
}

// TestReadmeFirstCommand is the README's first command: every sample
// document under examples/docs goes in, nothing fails. It runs on the real
// clock (the documents fit in one burst): synctest's clock starts in 2000,
// where the samples' 2025 timestamps would be in the future.
func TestReadmeFirstCommand(t *testing.T) {
	srv := mock.MustNew(mock.Config{})
	code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "../../examples/docs")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "failed: 0")
	assert.Len(t, srv.Notes(mock.DefaultKey), 43, "35 files and the 8 lines of one JSONL file")
	assert.Zero(t, srv.Count429())
}

func TestImportStopsAtTheDayLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 210)
		journal := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--stop-at-day-limit", "--journal", journal, dir)
		assert.Equal(t, exitFailed, code, "not everything made it")
		assert.Contains(t, errOut, "this run stops after 205 calls at most")
		assert.Contains(t, out, "imported: 205")
		assert.Contains(t, out, "not attempted: 5")
		assert.Len(t, srv.Notes(mock.DefaultKey), 205)
		assert.Zero(t, srv.Count429())
	})
}

func TestImportSaysWhatItSplits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := t.TempDir()
		big := "Big\n\n" + strings.Repeat(strings.Repeat("word ", 1000)+"\n\n", 50) // ~250 KB
		require.NoError(t, os.WriteFile(filepath.Join(dir, "big.md"), []byte(big), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "small.md"), []byte("Small"), 0o644))
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, errOut, "splitting big.md into 2 notes")
		// Before, the parts counted as documents: "3 documents".
		assert.Contains(t, errOut, "3 notes (from 2 documents, split where too large): 0 already done, 0 skipped, 3 to import.")
		assert.Contains(t, out, "imported: 3")
	})
}

// TestDryRunListsSkippedFilesBounded: the dry run names the first 20
// skipped documents, says how many more, and counts them all by reason.
func TestDryRunListsSkippedFilesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		for i := range 23 {
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("e%02d.md", i)), nil, 0o644))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "z.png"), []byte("x"), 0o644))
		code, out, _ := cli(t.Context(), nil, "", "import", "--mock", "--dry-run", "--journal", filepath.Join(t.TempDir(), "j"), dir)
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "24 documents would be skipped:\n  e00.md: empty document\n")
		assert.Contains(t, out, "\n  e19.md: empty document\n  … and 4 more (--json lists them all)\nBy reason:\n  23 empty document\n  1 not a document type mem imports\n")
		assert.NotContains(t, out, "e20.md")
	})
}

// TestMemItImportOnADrainedKeyMeetsNo429: a new process knows nothing of
// the key's levels; on a key whose minute window holds fewer complexity
// tokens than a mem-it takes, the import's first call is a cheap one that
// tells them, not a mem-it refused with a 429. A run with nothing to send
// makes no call at all.
func TestMemItImportOnADrainedKeyMeetsNo429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		require.True(t, srv.Spend(mock.DefaultKey, 0, 190)) // another process: 10 of 200 left this minute
		dir := docs(t, 2)
		journal := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--journal", journal, dir)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Zero(t, srv.Count429())
		assert.Contains(t, out, "429s seen: 0")
		var paths []string
		for _, e := range srv.Journal() {
			paths = append(paths, e.Method+" "+e.Path)
		}
		assert.Equal(t, []string{"GET /v2/collections", "POST /v2/mem-it", "POST /v2/mem-it"}, paths)

		calls := len(srv.Journal())
		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--journal", journal, dir)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Len(t, srv.Journal(), calls, "nothing to send: no call")
	})
}

// TestDocumentGivenTwiceGoesOnce: a folder or a file named twice on the
// command line is imported once, mem-it too (which has no id to make a
// second send harmless), and the repeats are listed as skipped before any
// call: no mem-it twice, no note creation met by a 409.
func TestDocumentGivenTwiceGoesOnce(t *testing.T) {
	for _, via := range []string{viaMemIt, viaNotes} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mock.MustNew(mock.Config{})
				dir := docs(t, 3)
				one := filepath.Join(dir, "doc-001.md")
				code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", via, dir, dir, one)
				require.Equal(t, exitOK, code, out+errOut)
				assert.Contains(t, out, "imported: 3\n")
				assert.Contains(t, out, "skipped: 4\n")
				assert.Equal(t, 4, strings.Count(out, reasonGivenTwice), out)
				assert.NotContains(t, out, "already in Mem")
				contentsOnce(t, srv, 3)
				creates := 0
				for _, c := range srv.Journal() {
					if c.Method == http.MethodPost {
						creates++
					}
				}
				assert.Equal(t, 3, creates, "one call per document")
			})
		})
	}
}
