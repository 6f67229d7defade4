package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/cmd/internal/buildinfo"
	"github.com/memsdk/mem-go/mock"
)

func TestParse(t *testing.T) {
	addr, cfg, err := parse([]string{"--addr", ":0", "--key", "a", "--key", "b", "--minute", "1s",
		"--quota", "3", "--error-rate", "0.5", "--neighbour-interval", "2s", "--seed", "9",
		"--latency", "5ms", "--response-latency", "7ms", "--response-jitter", "3ms"}, io.Discard, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":0", addr)
	assert.Equal(t, []string{"a", "b"}, cfg.Keys)
	assert.Equal(t, time.Second, cfg.Limits.Minute)
	assert.EqualValues(t, 100, cfg.Limits.RequestsPerMinute)
	assert.EqualValues(t, 3, cfg.Quota.Allowance)
	assert.Equal(t, 0.5, cfg.Faults.ErrorRate)
	assert.Equal(t, 2*time.Second, cfg.Faults.Neighbour.Interval)
	assert.EqualValues(t, 9, cfg.Seed)
	assert.Equal(t, 5*time.Millisecond, cfg.Faults.Latency)
	assert.Equal(t, 7*time.Millisecond, cfg.Faults.ResponseLatency)
	assert.Equal(t, 3*time.Millisecond, cfg.Faults.ResponseJitter)

	var log strings.Builder
	_, cfg, err = parse([]string{"-v"}, io.Discard, &log)
	require.NoError(t, err)
	require.NotNil(t, cfg.Observe)
	cfg.Observe(mock.Entry{Key: "secret-key", Method: "GET", Path: "/v2/notes", Status: 200})
	assert.Contains(t, log.String(), "GET /v2/notes 200")
	assert.NotContains(t, log.String(), "secret-key")

	_, cfg, err = parse([]string{"--cost", "POST /v2/notes/search=5", "--cost", "GET /v2/notes/{id}=2,3", "--requests-per-minute", "50"}, io.Discard, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, map[string]mock.Cost{"POST /v2/notes/search": {Complexity: 5}, "GET /v2/notes/{id}": {Requests: 2, Complexity: 3}}, cfg.Limits.Costs)
	assert.EqualValues(t, 50, cfg.Limits.RequestsPerMinute)
	for _, bad := range []string{"POST /v2/notes/search", "POST /v2/notes/search=x", "GET /v2/notes=a,3"} {
		_, _, err = parse([]string{"--cost", bad}, io.Discard, io.Discard)
		assert.Error(t, err, bad)
	}

	_, _, err = parse([]string{"--nope"}, io.Discard, io.Discard)
	assert.Error(t, err)
	_, _, err = parse([]string{"extra"}, io.Discard, io.Discard)
	assert.Error(t, err)
}

// TestRun starts the binary's server on a free port, sends a call, and stops
// it by cancelling its context (as SIGINT would).
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var url string
	for sc.Scan() {
		if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
			url, _, _ = strings.Cut(u, " ")
			assert.Contains(t, u, " (1 key; admin API", "a singular, not \"1 key(s)\"")
			break
		}
	}
	require.NotEmpty(t, url)
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	req, _ := http.NewRequest("GET", url+"/v2/notes", nil)
	req.Header.Set("Authorization", "Bearer "+mock.DefaultKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "99", resp.Header.Get("X-RateLimit-Remaining"))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
}

// TestHelpExplainsTheMock: --help goes to stdout and opens with what the
// mock is, how to point a client at it, every admin route and a curl.
func TestHelpExplainsTheMock(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		var stdout, stderr strings.Builder
		_, _, err := parse([]string{arg}, &stdout, &stderr)
		require.ErrorIs(t, err, flag.ErrHelp)
		out := stdout.String()
		assert.Empty(t, stderr.String())
		assert.True(t, strings.HasPrefix(out, "memmock: a stateful fake of the Mem API"), out)
		assert.Contains(t, out, "MEM_API_URL=http://127.0.0.1:8080")
		for _, route := range []string{"/_mock/state", "/_mock/reset", "/_mock/faults", "/_mock/faults/next", "/_mock/notes", "/_mock/spend", "/_mock/journal"} {
			assert.Contains(t, out, route+" ", route)
		}
		assert.Contains(t, out, "curl -s")
		assert.Contains(t, out, "-requests-per-minute", "the flags follow")
	}
	var stdout, stderr strings.Builder
	_, _, err := parse([]string{"--nope"}, &stdout, &stderr)
	require.Error(t, err)
	assert.NotErrorIs(t, err, flag.ErrHelp)
	assert.Empty(t, stdout.String(), "a bad flag does not print the help")
	assert.Equal(t, 2, exitCode(err, &stderr))
	assert.Equal(t, "memmock: flag provided but not defined: -nope\nRun 'memmock --help' for usage.\n", stderr.String(), "the error once, then the hint")
}

func TestVersion(t *testing.T) {
	var stdout strings.Builder
	_, _, err := parse([]string{"--version"}, &stdout, io.Discard)
	require.ErrorIs(t, err, flag.ErrHelp, "exit 0")
	assert.True(t, strings.HasPrefix(stdout.String(), "memmock "+buildinfo.Read().Version), stdout.String())
	assert.Contains(t, stdout.String(), "go1.")
}

// TestFlagErrorsNameTheFlag: a bad flag printed its error twice, "parse
// error" for --latency 50 (no unit); validation named Go fields
// (Faults.LostRate) instead of flags; and --minute 0 silently meant one
// minute. Each is now one error, in the flag's words, and nothing is
// printed by parse itself (main prints the error once).
func TestFlagErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--latency", "50"}, `invalid value "50" for flag -latency: "50" has no unit: write 50ms, 2s or 1m`},
		{[]string{"--minute", "soon"}, `invalid value "soon" for flag -minute: "soon" is not a duration: write 50ms, 2s or 1m`},
		{[]string{"--lost-rate", "2"}, "--lost-rate 2 is not a probability (want 0 to 1)"},
		{[]string{"--error-rate", "-0.1"}, "--error-rate -0.1 is not a probability (want 0 to 1)"},
		{[]string{"--jitter", "-5ms"}, "--jitter must not be negative"},
		{[]string{"--minute", "0"}, "--minute must be positive (0 would mean the default, 1m0s)"},
		{[]string{"--day", "0s"}, "--day must be positive (0 would mean the default, 24h0m0s)"},
		{[]string{"--requests-per-minute", "0"}, "--requests-per-minute must be positive (0 would mean the default, 100)"},
		{[]string{"--mem-it-complexity", "-1"}, "--mem-it-complexity must be positive (0 would mean the default, 40)"},
		{[]string{"--quota", "-1"}, "--quota must not be negative"},
		{[]string{"--neighbour-interval", "-1s"}, "--neighbour-interval must not be negative"},
	} {
		var stderr strings.Builder
		_, _, err := parse(c.args, io.Discard, &stderr)
		require.Error(t, err, c.args)
		assert.Equal(t, c.want, err.Error(), c.args)
		assert.NotContains(t, err.Error(), "Faults.")
		assert.NotContains(t, err.Error(), "Limits.")
		assert.Empty(t, stderr.String(), "%q: parse prints nothing; main prints the error once", c.args)
	}
	_, _, err := parse([]string{"--latency", "50ms", "--minute", "2s", "--lost-rate", "1"}, io.Discard, io.Discard)
	assert.NoError(t, err)
}
