package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// rawControls are the characters that act on a terminal instead of showing.
var rawControls = []string{"\x1b", "\x00", "\x07", "\x7f", "\u009b", "\u202e"}

// assertNoRawControls fails when out holds a character that acts on a terminal.
func assertNoRawControls(t *testing.T, what, out string) {
	t.Helper()
	for _, c := range rawControls {
		assert.NotContains(t, out, c, "%s: %q", what, out)
	}
}

// TestServerTextCannotDriveTheTerminal: a note titled
// "\x1b[31mRED TITLE\x1b[0m" recoloured the terminal in notes create, list
// and get, and a NUL or a right-to-left override went through as well, as
// did a collection's title and the server's error messages. Text mode now
// shows them escaped; --json keeps them exact.
func TestServerTextCannotDriveTheTerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		const title = "\x1b[31mRED TITLE\x1b[0m \x00\x07\x7f\u009b \u202eevil"
		const shown = `\x1b[31mRED TITLE\x1b[0m \x00\a\x7f\u009b \u202eevil`

		code, out, errOut := cli(t.Context(), srv, "", "notes", "create", "--mock", "--content", title+"\n\nline one\n\tline \x1b[2Jtwo")
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "notes create", out)
		assert.Contains(t, out, shown)
		id := strings.Fields(out)[2]
		id = strings.TrimSuffix(id, ":")

		code, out, errOut = cli(t.Context(), srv, "", "notes", "list", "--mock")
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "notes list", out)
		assert.Contains(t, out, shown)

		code, out, errOut = cli(t.Context(), srv, "", "notes", "get", "--mock", id)
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "notes get", out)
		assert.Contains(t, out, "line one\n\tline \\x1b[2Jtwo", "the content keeps its lines and tabs")

		code, out, errOut = cli(t.Context(), srv, "", "notes", "list", "--mock", "--json")
		require.Equal(t, exitOK, code, errOut)
		var list noteListOutput
		require.NoError(t, json.Unmarshal([]byte(out), &list))
		require.Len(t, list.Notes, 1)
		assert.Equal(t, title, list.Notes[0].Title, "JSON is exact")

		code, out, errOut = cli(t.Context(), srv, "", "collections", "create", "--mock", "Read\x1b]0;pwned\x07ing")
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "collections create", out)
		assert.Contains(t, out, `Read\x1b]0;pwned\aing`)
		code, out, errOut = cli(t.Context(), srv, "", "collections", "list", "--mock")
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "collections list", out)
		assert.Contains(t, out, `Read\x1b]0;pwned\aing`)

		// A file's name reaches the terminal in the import's lists.
		dir := writeFiles(t, map[string]string{"\x1b[31mred\u202e.md": "\x00\x01\x02binary"})
		code, out, errOut = cli(t.Context(), srv, "", "import", "--mock", "--dry-run", dir)
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "import --dry-run", out)
		assert.Contains(t, out, `\x1b[31mred\u202e.md: a binary file`)
	})

	// A server whose error message carries control characters.
	hostile := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body := `{"error":{"type":"invalid_request","message":"bad \u001b[2J\u001b[31mthing\u202e"}}`
		return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	code, _, errOut := cliWith(t.Context(), hostile, map[string]string{"MEM_API_KEY": "k", "MEM_API_URL": "http://mem.test"}, "notes", "list")
	assert.Equal(t, exitFailed, code)
	assertNoRawControls(t, "an error", errOut)
	assert.Contains(t, errOut, `bad \x1b[2J\x1b[31mthing\u202e`)
}

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain — ünïcode 日本": "plain — ünïcode 日本",
		"a\nb\tc\r":          `a\nb\tc\r`,
		"bell\a del\x7f":     `bell\a del\x7f`,
		"c1 \u0085 \u009b":   `c1 \u0085 \u009b`,
		"bidi \u202a\u202e\u2066\u2069\u200e\u200f\u061c": `bidi \u202a\u202e\u2066\u2069\u200e\u200f\u061c`,
		"bad \xff\xc3 utf8": `bad \xff\xc3 utf8`,
		`back\slash`:        `back\slash`,
	} {
		assert.Equal(t, want, safeText(in), "%q", in)
	}
	assert.Equal(t, "a\nb\tc\\r\\x1b", safeLines("a\nb\tc\r\x1b"))
}

// TestTableHeaderAlignsWithRows: on a terminal the header is bold, and
// bold codes inside its cells counted as width, so each header column
// started 8 characters left of its rows'.
func TestTableHeaderAlignsWithRows(t *testing.T) {
	var out bytes.Buffer
	id, date, title := "0f8fad5b-d9cb-469f-a165-70867728950e", "2026-11-30 10:59:37", "A title"
	err := printTable(&out, style{on: true}, "ID\tUPDATED\tTITLE", func(w io.Writer) {
		fmt.Fprintf(w, "%s\t%s\t%s\n", id, date, title)
	})
	require.NoError(t, err)
	lines := strings.Split(out.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	assert.True(t, strings.HasPrefix(lines[0], "\x1b[1m"), "the header is bold: %q", lines[0])
	head := strings.NewReplacer("\x1b[1m", "", "\x1b[0m", "").Replace(lines[0])
	assert.Equal(t, strings.Index(lines[1], date), strings.Index(head, "UPDATED"), "header %q, row %q", head, lines[1])
	assert.Equal(t, strings.Index(lines[1], title), strings.Index(head, "TITLE"), "header %q, row %q", head, lines[1])
}

// TestServerIDsCannotDriveTheTerminal: ids come from the server too, and
// were printed raw (a server that is not Mem, or a proxy, may send any
// string).
func TestServerIDsCannotDriveTheTerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const body = `{"results":[{"id":"\u001b[2Jid","title":"t","collection_ids":[],"audio_recording_ids":[],` +
			`"created_at":"2026-11-30T00:00:00Z","updated_at":"2026-11-30T00:00:00Z"}],"total":1,"request_id":"r"}`
		server := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		})
		code, out, errOut := cliWith(t.Context(), server, map[string]string{"MEM_API_KEY": "k"}, "notes", "list")
		require.Equal(t, exitOK, code, errOut)
		assertNoRawControls(t, "notes list", out)
		assert.Contains(t, out, `\x1b[2Jid`)
	})
}
