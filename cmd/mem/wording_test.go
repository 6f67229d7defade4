package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
// document left.". Now it counts both kinds.
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
	})
}
