package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestImportStopsOnARefusedKey: a wrong key used to send all 150 documents
// (30 s of throttled 401s, 150 failure lines). Now the first 401 stops the
// import: one call, one message, exit 1, and the journal resumes cleanly.
func TestImportStopsOnARefusedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 150)
		journal := filepath.Join(t.TempDir(), "j")
		vars := map[string]string{"MEM_API_KEY": "wrong-key", "MEM_API_URL": "http://mem.test"}
		start := time.Now()
		code, out, errOut := cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", journal)
		took := time.Since(start)
		assert.Equal(t, exitFailed, code)
		assert.Less(t, took, 10*time.Second)
		assert.Equal(t, 1, len(srv.Journal()), "one call")
		assert.Contains(t, errOut, "mem: stopped: the API key was refused (401); check MEM_API_KEY.\nNothing was imported.\nRun the same command again to resume")
		assert.Contains(t, out, "imported: 0")
		assert.Contains(t, out, "not attempted: ")
		assert.NotContains(t, out, "wrong-key")
		t.Logf("wrong key: %d calls, %s", len(srv.Journal()), took)

		// The same when the first call is the collections' lookup.
		sent := len(srv.Journal())
		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", journal, "--collection", "Inbox")
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, errOut, "mem: stopped: the API key was refused (401)")
		assert.Equal(t, sent+1, len(srv.Journal()), "one call")

		vars["MEM_API_KEY"] = mock.DefaultKey
		code, out, errOut = cliWith(t.Context(), srv.RoundTripper(), vars, "import", dir, "--journal", journal)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "imported: 150")
		contentsOnce(t, srv, 150)
	})
}

// refused is a server that does not exist: every dial is refused.
func refused(calls *atomic.Int64) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	})
}

// TestImportStopsWhenTheServerIsDown: connection refused used to cost
// about 4.6 s of hidden retries per document while the progress line said
// "imported 12/150". Now the first call whose retries run out stops it.
func TestImportStopsWhenTheServerIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		dir := docs(t, 150)
		journal := filepath.Join(t.TempDir(), "j")
		vars := map[string]string{"MEM_API_KEY": "k", "MEM_API_URL": "http://127.0.0.1:9"}
		start := time.Now()
		code, out, errOut := cliWith(t.Context(), refused(&calls), vars, "import", dir, "--journal", journal)
		took := time.Since(start)
		assert.Equal(t, exitFailed, code)
		assert.Less(t, took, 10*time.Second)
		assert.Equal(t, int64(5), calls.Load(), "one call and its 4 retries")
		assert.Contains(t, errOut, "mem: stopped: cannot reach http://127.0.0.1:9 (connection refused); check --base-url or MEM_API_URL.\nNothing was imported.")
		assert.Contains(t, out, "imported: 0")
		t.Logf("dead server: %d calls, %s", calls.Load(), took)
	})
}

// TestImportStopsAfterFiveServerErrorsInARow: a server that answers only
// 5xx stops the import after five documents failed in a row (each after
// the client's retries), not after 150.
func TestImportStopsAfterFiveServerErrorsInARow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Faults: mock.Faults{ErrorRate: 1}})
		dir := docs(t, 150)
		code, out, errOut := cli(t.Context(), srv, "", "import", dir, "--mock", "--concurrency", "1")
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, errOut, "mem: stopped: the server failed 5 calls in a row (the last: 5")
		assert.Contains(t, out, "failed: 5")
		assert.LessOrEqual(t, len(srv.Journal()), 5*5, "five documents, each tried five times")
	})
}

// TestOneDocumentsRefusalDoesNotStop: a 4xx about one document is that
// document's failure; the others still go.
func TestOneDocumentsRefusalDoesNotStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		srv.FailNext("POST", "/v2/notes", 1, mock.FaultServerError)
		dir := docs(t, 10)
		code, out, _ := cli(t.Context(), srv, "", "import", dir, "--mock")
		assert.Equal(t, exitOK, code, "one 500 is retried")
		assert.Contains(t, out, "imported: 10")
	})
}

func TestBreakerCountsServerErrorsInARow(t *testing.T) {
	br := newBreaker("http://x")
	e500 := fmt.Errorf("wrapped: %w", apiErr(500))
	for range maxServerErrors - 1 {
		assert.Empty(t, br.observe(e500))
	}
	assert.Empty(t, br.observe(nil), "a success resets the count")
	for range maxServerErrors - 1 {
		assert.Empty(t, br.observe(e500))
	}
	assert.Empty(t, br.observe(apiErr(422)), "a refusal of one document resets it too")
	for range maxServerErrors - 1 {
		assert.Empty(t, br.observe(e500))
	}
	assert.Contains(t, br.observe(e500), "the server failed 5 calls in a row")
	assert.Empty(t, br.observe(e500), "it trips once")
}

func apiErr(status int) error {
	return &memclient.APIError{StatusCode: status, Method: "POST", Path: "/v2/notes", Type: "x"}
}

// TestBreakerSaysWhatTheKeyMayNotDo: a 403 names the call it refused, not
// always a note creation (a mem-it import's first call lists collections).
func TestBreakerSaysWhatTheKeyMayNotDo(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/v2/collections", "the API key may not list collections (403)"},
		{"POST", "/v2/collections", "the API key may not create collections (403)"},
		{"POST", "/v2/notes", "the API key may not create notes (403)"},
		{"POST", "/base/v2/mem-it", "the API key may not use mem-it (403)"},
		{"DELETE", "/v2/notes/x", "the API key may not make this call (DELETE /v2/notes/x) (403)"},
	} {
		err := &memclient.APIError{StatusCode: 403, Method: c.method, Path: c.path}
		assert.Contains(t, newBreaker("http://x").observe(err), c.want)
	}
}
