package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"testing/synctest"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/cmd/internal/buildinfo"
	"github.com/memsdk/mem-go/mock"
)

// cliWith runs the command with the environment variables of vars, calls
// going through rt (when not --mock).
func cliWith(ctx context.Context, rt http.RoundTripper, vars map[string]string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	env := &cliEnv{ctx: ctx, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, transport: rt,
		getenv: func(k string) string { return vars[k] }}
	code := runWith(env, args)
	return code, stdout.String(), stderr.String()
}

// TestFlagsAnywhere: flags after the arguments are flags, not arguments.
// Before cobra, `notes search "x" --json` searched for "x --json" and
// printed a table, and `import DIR --dry-run` failed with "stat --dry-run".
func TestFlagsAnywhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		code, _, errOut := cli(t.Context(), srv, "", "import", dir, "--mock", "--collection", "Imported")
		require.Equal(t, exitOK, code, errOut)

		code, out, errOut := cli(t.Context(), srv, "", "notes", "search", "Document 1", "--mock", "--json")
		require.Equal(t, exitOK, code, errOut)
		var res noteListOutput
		require.NoError(t, json.Unmarshal([]byte(out), &res), out)
		require.NotEmpty(t, res.Notes)
		assert.Equal(t, "Document 1", res.Notes[0].Title)

		sent := len(srv.Journal())
		journal := filepath.Join(t.TempDir(), "j")
		code, out, errOut = cli(t.Context(), srv, "", "import", dir, "--dry-run", "--mock", "--journal", journal)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "3 documents: 0 already done, 0 skipped, 3 to import.")
		assert.Equal(t, sent, len(srv.Journal()), "a dry run sends nothing")
	})
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := cli(context.Background(), nil, "", args...)
		assert.Equal(t, exitOK, code)
		assert.True(t, strings.HasPrefix(out, "mem "), out)
		assert.Contains(t, out, buildinfo.Read().Version)
	}
	code, out, _ := cli(context.Background(), nil, "", "version", "--json")
	require.Equal(t, exitOK, code)
	var v buildinfo.Info
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.NotEmpty(t, v.Go)
}

func TestBuildInfoFromTheBinary(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Path: "github.com/memsdk/mem-go", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	info := buildinfo.Info{Version: "unknown"}
	info = buildinfo.FromBuildInfo(bi, info)
	assert.Equal(t, "v1.2.3 (0123456789ab, modified)", info.Short())
	assert.Contains(t, info.Long(), "revision 0123456789abcdef0123 from 2026-01-02T03:04:05Z, with uncommitted changes")
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := cli(context.Background(), nil, "", "completion", shell)
		assert.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "mem", shell)
		assert.Greater(t, len(out), 1000, shell)
	}
}

// TestErrorsInTheCLIsWords: no library option names, a hint for a base URL
// ending in /v2.
func TestErrorsInTheCLIsWords(t *testing.T) {
	code, _, errOut := cliWith(context.Background(), nil, nil, "notes", "list")
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, "mem: no API key: set MEM_API_KEY, or pass --mock to try mem against a throwaway mock\n", errOut)
	assert.NotContains(t, errOut, "WithAPIKey")

	code, _, errOut = cliWith(context.Background(), nil, map[string]string{"MEM_API_KEY": "k", "MEM_API_URL": "https://api.mem.ai/v2/"}, "notes", "list")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "ends in /v2, which mem adds itself: use https://api.mem.ai")

	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		code, _, errOut := cliWith(t.Context(), srv.RoundTripper(), map[string]string{"MEM_API_KEY": "wrong-key"}, "notes", "list")
		assert.Equal(t, exitFailed, code)
		assert.Equal(t, "mem: the API key was refused (401): check MEM_API_KEY\n", errOut)

		code, _, errOut = cli(t.Context(), srv, "", "notes", "get", "--mock", "--quiet", "8ec59e52-491e-526b-8ebc-e67a685862bd")
		assert.Equal(t, exitFailed, code)
		assert.True(t, strings.HasPrefix(errOut, "mem: not found (404): "), errOut)
		assert.NotContains(t, errOut, "memclient")
	})
}

// TestVerboseLogsEveryCallNeverTheKey: --verbose logs requests, statuses,
// waits and retries through the client's logger; the key appears nowhere.
func TestVerboseLogsEveryCallNeverTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const key = "sk-very-secret-key-123"
		srv := mock.MustNew(mock.Config{Keys: []string{key}, Faults: mock.Faults{ErrorRate: 0.3}, Seed: 3})
		dir := docs(t, 20)
		code, out, errOut := cliWith(t.Context(), srv.RoundTripper(), map[string]string{"MEM_API_KEY": key, "MEM_API_URL": "http://mem.test"},
			"import", dir, "--verbose", "--journal", filepath.Join(t.TempDir(), "j"))
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, errOut, `msg="mem request" method=POST path=/v2/notes`)
		assert.Contains(t, errOut, "status=200")
		assert.Contains(t, errOut, "status=50")
		assert.Contains(t, errOut, `msg="mem retry"`)
		assert.NotContains(t, out+errOut, key)
		assert.NotContains(t, out+errOut, "\r", "no progress line with --verbose: the log is the progress")
	})
}

func TestQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		code, out, errOut := cli(t.Context(), srv, "", "import", dir, "--mock", "--quiet")
		require.Equal(t, exitOK, code)
		assert.Empty(t, errOut, "no plan, notice or progress")
		assert.Contains(t, out, "imported: 3")
	})
}

// TestColourOnlyOnATerminalWithoutNoColor: the same error, on a pty, is red
// unless NO_COLOR is set; on a pipe it never is.
func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	run := func(stderr *os.File, vars map[string]string) string {
		var stdout bytes.Buffer
		env := &cliEnv{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &stdout, stderr: stderr,
			getenv: func(k string) string { return vars[k] }}
		assert.Equal(t, exitFailed, runWith(env, []string{"notes", "list"}))
		return ""
	}
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	out := readAll(ptmx)
	run(tty, nil)
	run(tty, map[string]string{"NO_COLOR": "1"})
	tty.Close()
	lines := strings.Split(strings.TrimSpace(<-out), "\n")
	require.Len(t, lines, 2, lines)
	assert.Contains(t, lines[0], "\x1b[31mmem:\x1b[0m no API key")
	assert.NotContains(t, lines[1], "\x1b[")

	code, _, errOut := cliWith(context.Background(), nil, nil, "notes", "list")
	assert.Equal(t, exitFailed, code)
	assert.NotContains(t, errOut, "\x1b[")
}

// readAll collects what a pty's master reads until the other side closes.
func readAll(ptmx *os.File) <-chan string {
	ch := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				ch <- b.String()
				return
			}
		}
	}()
	return ch
}

// TestHelpFitsEightyColumns: every command's help, flags included (cobra's
// completion scripts' own help aside).
func TestHelpFitsEightyColumns(t *testing.T) {
	root := newRootCmd(&cliEnv{ctx: context.Background(), getenv: noEnv})
	var paths [][]string
	for _, c := range root.Commands() {
		paths = append(paths, []string{c.Name()})
		for _, sub := range c.Commands() {
			if c.Name() != "completion" { // cobra's own words
				paths = append(paths, []string{c.Name(), sub.Name()})
			}
		}
	}
	paths = append(paths, []string{})
	for _, p := range paths {
		code, out, _ := cli(context.Background(), nil, "", append(p, "--help")...)
		require.Equal(t, exitOK, code, p)
		for _, line := range strings.Split(out, "\n") {
			assert.LessOrEqual(t, utf8.RuneCountInString(line), 80, "%q: %q", p, line)
		}
	}
}

// TestHTTPSToAPlainHTTPServerGetsTheHint: an https:// base URL for a plain
// HTTP server printed Go's "http: server gave HTTP response to HTTPS
// client", without the hint other connection errors get. The transport
// fails as crypto/tls does when the answer to its hello starts "HTTP/"
// (net/http turns that into http.ErrSchemeMismatch).
func TestHTTPSToAPlainHTTPServerGetsTheHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plainHTTP := roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte([]byte("HTTP/"))}
		})
		vars := map[string]string{"MEM_API_KEY": "k"}
		code, _, errOut := cliWith(t.Context(), plainHTTP, vars, "--base-url", "https://127.0.0.1:18080", "notes", "list")
		assert.Equal(t, exitFailed, code)
		assert.Equal(t, "mem: cannot reach the server: it answers plain HTTP, not HTTPS; check --base-url or MEM_API_URL\n", errOut)

		code, _, errOut = cliWith(t.Context(), plainHTTP, vars, "--base-url", "https://127.0.0.1:18080", "notes", "list", "--json")
		assert.Equal(t, exitFailed, code)
		assert.Equal(t, "unreachable", decodeError(t, errOut).Type)
	})
}
