package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// memItWatch passes calls to the mock, except that it answers the first
// refuse mem-its with a rate-limit 429 (Retry-After 30 s), and records the
// journal's newest outcome for the document as each mem-it arrives.
type memItWatch struct {
	srv     *mock.Server
	journal string
	key     string
	mu      sync.Mutex
	refuse  int
	seen    []string // the document's outcome in the journal file as each mem-it arrived
}

// newMemItWatch watches the one document in dir, refusing its first
// mem-it.
func newMemItWatch(t *testing.T, dir string) *memItWatch {
	return &memItWatch{srv: mock.MustNew(mock.Config{}), journal: filepath.Join(t.TempDir(), "j"), key: oneKey(t, dir), refuse: 1}
}

// arrive records the document's newest outcome in the journal file as a
// mem-it arrives, and returns which arrival it is (1 for the first).
func (w *memItWatch) arrive() (int, error) {
	j, err := readJournal(w.journal)
	if err != nil {
		return 0, err
	}
	e, _ := j.Lookup(w.key)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, e.Outcome)
	return len(w.seen), nil
}

func (w *memItWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/v2/mem-it" {
		return w.srv.RoundTripper().RoundTrip(req)
	}
	n, err := w.arrive()
	if err != nil {
		return nil, err
	}
	if n <= w.refuse {
		h := http.Header{"Retry-After": {"30"}, "Content-Type": {"application/json"}}
		return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h, Request: req,
			Body: http.NoBody}, nil
	}
	return w.srv.RoundTripper().RoundTrip(req)
}

func (w *memItWatch) arrivals() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

// TestMemItIntentIsOnDiskBeforeEachAttempt: every mem-it attempt leaves
// with "sending" in the journal file; a 429 (not processed) withdraws it,
// and the answer replaces it.
func TestMemItIntentIsOnDiskBeforeEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := docs(t, 1)
		w := newMemItWatch(t, dir)
		vars := map[string]string{memclient.EnvAPIKey: mock.DefaultKey, memclient.EnvBaseURL: "http://mem.test"}
		code, out, errOut := cliWith(t.Context(), w, vars, "import", "--via", "mem-it", "--journal", w.journal, dir)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Equal(t, []string{outcomeSending, outcomeSending}, w.arrivals())
		assert.Equal(t, outcomeDone, newest(t, w.journal, w.key))
	})
}

// TestMemItStoppedAfterA429LeavesItAsItWas: a run interrupted while a
// mem-it waits to retry after a 429 (which the server did not process)
// leaves the document as it was before the run: to send when it had no
// record, of unknown outcome when it had one (sent again with
// --retry-unknown, and refused again).
func TestMemItStoppedAfterA429LeavesItAsItWas(t *testing.T) {
	for _, before := range []string{"", outcomeUnknown} {
		t.Run("before="+before, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := docs(t, 1)
				w := newMemItWatch(t, dir)
				args := []string{"import", "--via", "mem-it", "--journal", w.journal, dir}
				if before != "" {
					j, err := holdJournal(w.journal)
					require.NoError(t, err)
					require.NoError(t, j.Record(journalEntry{Key: w.key, Outcome: before, Via: viaMemIt, At: time.Now()}))
					require.NoError(t, j.Close())
					args = append(args, "--retry-unknown")
				}
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(10*time.Second, cancel) // the 429 said 30 s
				vars := map[string]string{memclient.EnvAPIKey: mock.DefaultKey, memclient.EnvBaseURL: "http://mem.test"}
				code, out, errOut := cliWith(ctx, w, vars, args...)
				require.Equal(t, exitInterrupted, code, out+errOut)
				assert.Equal(t, []string{outcomeSending}, w.arrivals())
				assert.Contains(t, out, "not attempted: 1")

				want := before
				if want == "" {
					want = outcomeNotSent
				}
				assert.Equal(t, want, newest(t, w.journal, w.key))
			})
		})
	}
}

// oneKey is the journal key of the only document in dir.
func oneKey(t *testing.T, dir string) string {
	items, err := readSources([]string{dir}, nil, viaMemIt)
	require.NoError(t, err)
	require.Len(t, items, 1)
	return items[0].Key
}

// newest is key's newest outcome in the journal file.
func newest(t *testing.T, path, key string) string {
	j, err := readJournal(path)
	require.NoError(t, err)
	e, ok := j.Lookup(key)
	require.True(t, ok, "%s is in the journal", key)
	return e.Outcome
}

// TestJournalSendingMeansUnknown: a document whose newest record is
// "sending" (its run died while the mem-it was in flight) is reported as
// of unknown outcome and not sent, unless --retry-unknown; "not-sent" is
// sent; a journal written before intents existed loads as before.
func TestJournalSendingMeansUnknown(t *testing.T) {
	j := memoryJournal()
	for key, outcome := range map[string]string{"a.md": outcomeSending, "b.md": outcomeNotSent, "c.md": outcomeUnknown, "d.md": outcomeDone} {
		require.NoError(t, j.Record(journalEntry{Key: key, Outcome: outcome, Via: viaMemIt}))
	}
	var items []item
	for _, k := range []string{"a.md", "b.md", "c.md", "d.md", "e.md"} {
		items = append(items, item{Key: k, Where: k, Content: "x"})
	}
	for _, retry := range []bool{false, true} {
		im := &importer{journal: j, via: viaMemIt, retryUnknown: retry}
		s := newSummary()
		var sent []string
		for _, it := range im.pending(items, &s) {
			sent = append(sent, it.Key)
		}
		if retry {
			assert.Equal(t, []string{"a.md", "b.md", "c.md", "e.md"}, sent)
			continue
		}
		assert.Equal(t, []string{"b.md", "e.md"}, sent)
		require.Len(t, s.Unknown, 2)
		assert.Equal(t, s.Unknown[0].Reason, s.Unknown[1].Reason, "reported the same way")
		assert.Contains(t, s.Unknown[0].Reason, "may have been sent through mem-it by an earlier run that got no answer", "not that it was sent: it may not have left")
		assert.Equal(t, 1, s.AlreadyDone)
	}
	assert.Equal(t, 3, j.settled(), "done, unknown and sending")

	old := filepath.Join(t.TempDir(), "old.journal")
	require.NoError(t, os.WriteFile(old, []byte(strings.Join([]string{
		`{"key":"a.md","outcome":"done","via":"notes","note_id":"x","at":"2025-01-01T00:00:00Z"}`,
		`{"key":"b.md","outcome":"unknown","via":"mem-it","at":"2025-01-01T00:00:00Z"}`,
	}, "\n")+"\n"), 0o644))
	oj, err := readJournal(old)
	require.NoError(t, err)
	assert.Equal(t, 2, oj.settled())
}

// refusingMemIt passes calls to the mock, except mem-its: the first refuse
// fail as a refused connection would (the request never left), and the
// first of them calls stop (when set) as it fails. It records the
// journal's newest outcome for the document as each mem-it arrives.
type refusingMemIt struct {
	*memItWatch
	stop func()
}

func (r *refusingMemIt) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/v2/mem-it" {
		return r.srv.RoundTripper().RoundTrip(req)
	}
	n, err := r.arrive()
	if err != nil {
		return nil, err
	}
	if n > r.refuse {
		return r.srv.RoundTripper().RoundTrip(req)
	}
	if n == 1 && r.stop != nil {
		time.AfterFunc(100*time.Millisecond, r.stop) // within the first backoff (at least 250 ms)
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// TestMemItRefusedConnectionIsNotSent: a mem-it whose connection was
// refused never left. A run stopped during the backoff that follows
// counts it as not attempted and leaves the document to send, not of
// unknown outcome; a run that goes on records "sending" again before the
// next attempt, and imports it.
func TestMemItRefusedConnectionIsNotSent(t *testing.T) {
	vars := map[string]string{memclient.EnvAPIKey: mock.DefaultKey, memclient.EnvBaseURL: "http://mem.test"}
	t.Run("stopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dir := docs(t, 1)
			ctx, cancel := context.WithCancel(t.Context())
			r := &refusingMemIt{memItWatch: newMemItWatch(t, dir), stop: cancel}
			code, out, errOut := cliWith(ctx, r, vars, "import", "--via", "mem-it", "--journal", r.journal, dir)
			require.Equal(t, exitInterrupted, code, out+errOut)
			assert.Equal(t, []string{outcomeSending}, r.arrivals())
			assert.Contains(t, out, "not attempted: 1")
			assert.NotContains(t, out, "outcome unknown")
			assert.Contains(t, out, "(0s summed over calls)", "the backoff is no wait for tokens")
			assert.Equal(t, outcomeNotSent, newest(t, r.journal, r.key))
		})
	})
	t.Run("retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dir := docs(t, 1)
			r := &refusingMemIt{memItWatch: newMemItWatch(t, dir)}
			code, out, errOut := cliWith(t.Context(), r, vars, "import", "--via", "mem-it", "--journal", r.journal, dir)
			require.Equal(t, exitOK, code, out+errOut)
			assert.Equal(t, []string{outcomeSending, outcomeSending}, r.arrivals())
			assert.Equal(t, outcomeDone, newest(t, r.journal, r.key))
			assert.Len(t, r.srv.Notes(mock.DefaultKey), 1)
		})
	})
}

// TestMemItIntentIsSyncedBeforeItLeaves: the journal keeps in memory what
// it has not synced (see volatileFile), so the file the server's side
// reads as each mem-it arrives holds only what a power cut would leave:
// there, the intent is already recorded, before the first attempt and the
// retry after a 429 alike. (A kill -9 keeps the page cache, so the crash
// test cannot tell a missing fsync.)
func TestMemItIntentIsSyncedBeforeItLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := docs(t, 1)
		w := newMemItWatch(t, dir)
		j, err := holdJournal(w.journal)
		require.NoError(t, err)
		defer j.Close()
		j.out = newGroupCommit(&volatileFile{f: j.f})
		vars := map[string]string{memclient.EnvAPIKey: mock.DefaultKey}
		env := &cliEnv{ctx: t.Context(), stdout: io.Discard, stderr: io.Discard, transport: w, getenv: func(k string) string { return vars[k] }}
		g := &globals{baseURL: "http://mem.test", quiet: true}
		cn, err := g.connect(env, throttle.Hooks{})
		require.NoError(t, err)
		im := &importer{api: clientAPI{cn.c}, th: cn.th, journal: j, via: viaMemIt, concurrency: 1, limit: -1, server: cn.baseURL}
		items, err := readSources([]string{dir}, nil, viaMemIt)
		require.NoError(t, err)
		s := newSummary()
		s, err = im.run(t.Context(), im.pending(items, &s), s)
		require.NoError(t, err)
		assert.Equal(t, 1, s.Imported)
		assert.Equal(t, []string{outcomeSending, outcomeSending}, w.arrivals())
	})
}
