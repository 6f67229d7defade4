package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// The crash child's environment: the documents' folder, the journal, and
// the mock's URL.
const (
	crashDirEnv     = "MEM_TEST_CRASH_DIR"
	crashJournalEnv = "MEM_TEST_CRASH_JOURNAL"
	crashServerEnv  = "MEM_TEST_CRASH_SERVER"
	crashViaEnv     = "MEM_TEST_CRASH_VIA" // notes when unset
)

// TestJournalKeepsWhatWasCountedThroughAKill runs imports in a child process
// (this test binary again, as TestJournalCrashChild) and kills it with
// SIGKILL at seeded random points: after the k-th outcome it counted, with
// its other calls, writes and fsyncs still under way. The child's journal
// loses what was not fsynced (see volatileFile), as a machine that loses
// power would. Every outcome the child counted must be in the journal, and
// the import run again must end with every document in Mem exactly once.
func TestJournalKeepsWhatWasCountedThroughAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 12 processes")
	}
	const runs, docsPerRun = 12, 40
	killed := 0
	for run := range runs {
		rng := rand.New(rand.NewPCG(14, uint64(run)))
		killAfter := rng.IntN(docsPerRun)
		if crashRun(t, run, docsPerRun, killAfter) {
			killed++
		}
	}
	t.Logf("%d of %d children killed mid-import", killed, runs)
	assert.Greater(t, killed, runs/2, "most kills land mid-import")
}

// crashRun is one run: it imports n documents in a child killed after it
// counted killAfter outcomes, checks the journal, and resumes the import.
// It reports whether the kill landed before the child finished.
func crashRun(t *testing.T, run, n, killAfter int) bool {
	srv := mock.MustNew(mock.Config{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	dir := docs(t, n)
	journalPath := filepath.Join(t.TempDir(), "j")

	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashJournalEnv+"="+journalPath, crashServerEnv+"="+hs.URL)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	counted := map[string]string{} // key: outcome
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if outcome, key, ok := strings.Cut(strings.TrimPrefix(line, "counted "), " "); ok && strings.HasPrefix(line, "counted ") {
			counted[key] = outcome
		}
		if (line == "started" && killAfter == 0) || (strings.HasPrefix(line, "counted ") && len(counted) == killAfter) {
			_ = cmd.Process.Signal(syscall.SIGKILL) // fails if it has just ended
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	wasKilled := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
	require.True(t, err == nil || wasKilled, "run %d: the child failed: %v", run, err)
	t.Logf("run %d: killed after %d counted: %d counted before it died (killed: %v)", run, killAfter, len(counted), wasKilled)

	j, err := readJournal(journalPath)
	require.NoError(t, err)
	for key, outcome := range counted {
		e, ok := j.Lookup(key)
		if assert.True(t, ok, "run %d: %s was counted but is not in the journal", run, key) {
			assert.Equal(t, outcome, e.Outcome, "run %d: %s", run, key)
		}
	}

	// The same import again: nothing lost, nothing twice.
	code, stdout, stderr := cli(t.Context(), srv, "", "import", "--mock", "--journal", journalPath, dir)
	require.Equal(t, exitOK, code, "run %d: %s%s", run, stdout, stderr)
	_, summary, ok := strings.Cut(stdout, "already done (journal): ")
	require.True(t, ok, stdout)
	var alreadyDone int
	_, err = fmt.Sscanf(summary, "%d", &alreadyDone)
	require.NoError(t, err, stdout)
	assert.GreaterOrEqual(t, alreadyDone, len(counted), "run %d: the resumed run skips at least what was counted", run)
	contentsOnce(t, srv, n)
	return wasKilled
}

// TestJournalCrashChild is the child of
// TestJournalKeepsWhatWasCountedThroughAKill: it imports the documents
// through the mock at the URL it is given, and prints each outcome as it is
// counted. Run alone, it does nothing.
func TestJournalCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestJournalKeepsWhatWasCountedThroughAKill")
	}
	via := cmp.Or(os.Getenv(crashViaEnv), viaNotes)
	items, err := readSources([]string{dir}, nil, via)
	require.NoError(t, err)
	j, err := holdJournal(os.Getenv(crashJournalEnv))
	require.NoError(t, err)
	defer j.Close()
	j.out = newGroupCommit(&volatileFile{f: j.f})
	vars := map[string]string{memclient.EnvAPIKey: mock.DefaultKey}
	env := &cliEnv{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	g := &globals{baseURL: os.Getenv(crashServerEnv), quiet: true}
	cn, err := g.connect(env, throttle.Hooks{})
	require.NoError(t, err)
	im := &importer{api: clientAPI{cn.c}, th: cn.th, journal: j, via: via, concurrency: 8, limit: -1, server: cn.baseURL,
		counted: func(e journalEntry) { fmt.Printf("counted %s %s\n", e.Outcome, e.Key) }}
	s := newSummary()
	todo := im.pending(items, &s)
	fmt.Println("started")
	_, err = im.run(env.ctx, todo, s)
	require.NoError(t, err)
}

// TestMemItInFlightThroughAKillIsNotResent kills a mem-it import (a child
// process, as TestJournalCrashChild) while calls are in flight: the server
// has processed them, and their answers never come back. The journal must
// say so before each request leaves, so that the import run again reports
// them as of unknown outcome instead of sending them a second time, and
// imports the rest once.
func TestMemItInFlightThroughAKillIsNotResent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	// 5 documents: every mem-it fits in the burst, so nothing waits a minute.
	t.Run("the first call", func(t *testing.T) { memItKillRun(t, 5, 1, 1) }) // it goes alone
	t.Run("three calls", func(t *testing.T) { memItKillRun(t, 5, 3, 3) })
}

// memItKillRun imports n documents through mem-it in a child, answers its
// first answered-1 mem-its and keeps back the answers of the next ones, and
// kills the child once inFlight of those reached the server. Then it resumes
// the import.
func memItKillRun(t *testing.T, n, answered, inFlight int) {
	srv := mock.MustNew(mock.Config{})
	var calls atomic.Int64
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/mem-it" || calls.Add(1) < int64(answered) {
			srv.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(httptest.NewRecorder(), r) // processed: in Mem, but the answer is kept back
		arrived <- struct{}{}
		<-release
	}))
	dir := docs(t, n)
	journalPath := filepath.Join(t.TempDir(), "j")

	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashJournalEnv+"="+journalPath, crashServerEnv+"="+hs.URL, crashViaEnv+"="+viaMemIt)
	cmd.Stderr = os.Stderr
	cmd.Stdout = io.Discard
	require.NoError(t, cmd.Start())
	for range inFlight {
		<-arrived
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	close(release)
	hs.Close()
	require.Len(t, srv.Notes(mock.DefaultKey), answered-1+inFlight, "what the server processed before the kill")

	// The same import again: the calls in flight are reported, not resent.
	code, stdout, stderr := cli(t.Context(), srv, "", "import", "--mock", "--via", viaMemIt, "--journal", journalPath, dir)
	require.Equal(t, exitFailed, code, "an unknown outcome is reported: %s%s", stdout, stderr)
	assert.Contains(t, stdout, fmt.Sprintf("outcome unknown (mem-it): %d\n", inFlight))
	assert.Contains(t, stdout, "--retry-unknown")
	contentsOnce(t, srv, n)
}

// volatileFile keeps what is written in memory until Sync writes it to the
// file, as a machine's page cache does until it loses power: a process
// killed with SIGKILL then loses what a power cut would have lost.
type volatileFile struct {
	f   *os.File
	mu  sync.Mutex
	buf []byte
}

func (v *volatileFile) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.buf = append(v.buf, p...)
	return len(p), nil
}

// Sync writes out what was written before it began, and syncs the file.
func (v *volatileFile) Sync() error {
	v.mu.Lock()
	buf := v.buf
	v.buf = nil
	v.mu.Unlock()
	if _, err := v.f.Write(buf); err != nil {
		return err
	}
	return v.f.Sync()
}
