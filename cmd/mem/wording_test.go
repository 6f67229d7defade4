package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/memclient"
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

// inFlightAtInterrupt passes calls to the mock, except that a mem-it,
// once the mock has processed it, gets no answer until its request ends.
type inFlightAtInterrupt struct{ srv *mock.Server }

func (f inFlightAtInterrupt) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/v2/mem-it" {
		return f.srv.RoundTripper().RoundTrip(req)
	}
	resp, err := f.srv.RoundTripper().RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	<-req.Context().Done()
	return nil, context.Cause(req.Context())
}

// TestInterruptedCountsWhatIsLeft: interrupted with one mem-it in flight
// (its outcome unknown) and one not attempted, mem said "Interrupted: 1
// document left.", and listed the first as "outcome unknown: POST
// /v2/mem-it: outcome unknown (the request may have been processed): …".
// Now it counts both kinds, and says it once, with why and what to do.
func TestInterruptedCountsWhatIsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 2)
		ctx, cancel := context.WithCancelCause(t.Context())
		time.AfterFunc(10*time.Second, func() { cancel(errors.New("interrupt signal received")) })
		vars := map[string]string{memclient.EnvAPIKey: mock.DefaultKey, memclient.EnvBaseURL: "http://mem.test"}
		code, out, errOut := cliWith(ctx, inFlightAtInterrupt{srv}, vars, "import", "--via", "mem-it", "--concurrency", "1",
			"--journal", filepath.Join(t.TempDir(), "j"), dir)
		require.Equal(t, exitInterrupted, code, out+errOut)
		assert.Contains(t, out, "outcome unknown (mem-it): 1\n")
		assert.Contains(t, out, "not attempted: 1\n")
		assert.Contains(t, errOut, "Interrupted: 2 documents left: 1 not attempted, 1 of unknown outcome.\n")

		_, listed, ok := strings.Cut(out, "outcome unknown (mem-it): 1\n")
		require.True(t, ok)
		line, _, _ := strings.Cut(listed, "\n")
		assert.Equal(t, "  doc-000.md: may have reached Mem (interrupt signal received): "+
			"check Mem, then rerun with --accept-unknown if it is there, or with --retry-unknown to send it again", line)
	})
}

// TestUnknownReasonSaysWhyOnce: a lost answer (the connection reset) is
// said in the system's innermost words, without the address or the
// request named again.
func TestUnknownReasonSaysWhyOnce(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	err := &memclient.OutcomeUnknownError{Op: "POST /v2/mem-it", Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1/v2/mem-it", Err: reset}}
	assert.Equal(t, "may have reached Mem (connection reset by peer): check Mem, then rerun with --accept-unknown if it is there, "+
		"or with --retry-unknown to send it again", unknownReason(fmt.Errorf("%w: %w", errOutcomeUnknown, err)))
}
