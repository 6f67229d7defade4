package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// outputSchemas compiles testdata/output.schema.json, with formats
// (date-time, uuid) asserted.
func outputSchemas(t *testing.T) func(name string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/output.schema.json")
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource("output.schema.json", doc))
	return func(name string) *jsonschema.Schema {
		s, err := c.Compile("output.schema.json#/$defs/" + name)
		require.NoError(t, err, name)
		return s
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkStyle walks a JSON value: every name snake_case, no Go zero time,
// no negative number (a -1 sentinel) except a bucket's level.
func checkStyle(t *testing.T, where string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			assert.Regexp(t, snakeCase, k, "%s: name", where)
			if f, ok := x.(json.Number); ok && k != "level" {
				n, _ := f.Float64()
				assert.GreaterOrEqual(t, n, 0.0, "%s.%s", where, k)
			}
			checkStyle(t, where+"."+k, x)
		}
	case []any:
		for _, x := range v {
			checkStyle(t, where+"[]", x)
		}
	case string:
		assert.NotContains(t, v, "0001-01-01", where)
	}
}

// TestJSONOutputs runs every command with --json against the mock and
// checks each output against its JSON Schema and the common style.
// Before, durations were nanoseconds ("eta_ns"), the plan used -1 for
// "never", and limits printed Go field names and zero times.
func TestJSONOutputs(t *testing.T) {
	schema := outputSchemas(t)
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		run := func(def string, stdin string, args ...string) map[string]any {
			t.Helper()
			code, out, errOut := cli(t.Context(), srv, stdin, append(args, "--mock", "--json")...)
			require.Equal(t, exitOK, code, "%q: %s", args, errOut)
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
			require.NoError(t, err, out)
			assert.NoError(t, schema(def).Validate(inst), "%q: %s", args, out)
			dec := json.NewDecoder(bytes.NewReader([]byte(out)))
			dec.UseNumber()
			var v map[string]any
			require.NoError(t, dec.Decode(&v))
			checkStyle(t, strings.Join(args[:min(2, len(args))], " "), v)
			return v
		}
		run("import_plan", "", "import", dir, "--dry-run")
		run("import_plan", "", "import", docs(t, 210), "--dry-run", "--via", "mem-it")
		run("import_summary", "", "import", dir, "--collection", "Imported")
		run("limits", "", "limits")
		list := run("note_list", "", "notes", "list", "--limit", "2")
		assert.Equal(t, true, list["has_more"])
		id := list["notes"].([]any)[0].(map[string]any)["id"].(string)
		run("note", "", "notes", "get", id)
		run("note_list", "", "notes", "search", "Document")
		created := run("note", "", "notes", "create", "--content", "Fresh\n\nbody", "--collection", "Work")
		nid := created["id"].(string)
		run("note", "New title\n\nnew body", "notes", "update", nid, "-")
		run("id_result", "", "notes", "delete", nid)
		run("id_result", "", "notes", "restore", nid)
		cols := run("collection_list", "", "collections", "list")
		assert.EqualValues(t, json.Number("2"), cols["total"])
		col := run("collection", "", "collections", "create", "Reading list", "--description", "books")
		cid := col["id"].(string)
		run("member_result", "", "collections", "add", "Reading list", nid, id)
		run("member_result", "", "collections", "remove", cid, nid)
		run("id_result", "", "collections", "delete", "reading LIST")
		run("mem_it", "Met Ana about the garden.", "mem-it", "-")
		run("export_summary", "", "export", t.TempDir())
		run("id_result", "", "notes", "delete", nid, "--permanently")
		run("version", "", "version")
	})
}

// decodeError reads stderr as exactly one errorJSON object.
func decodeError(t *testing.T, stderr string) errorJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stderr))
	dec.DisallowUnknownFields()
	var e errorJSON
	require.NoError(t, dec.Decode(&e), "one JSON object: %q", stderr)
	require.False(t, dec.More(), "nothing after it: %q", stderr)
	return e
}

// TestJSONErrors: with --json, errors were plain text on stderr ("mem: not
// found (404): …"). Now they are one JSON object, with the server's type,
// status and request id, never the key, and the same exit codes.
func TestJSONErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Keys: []string{"secret-key-123"}})
		vars := map[string]string{"MEM_API_KEY": "secret-key-123", "MEM_API_URL": "http://mem.test"}
		missing := "8ec59e52-491e-526b-8ebc-e67a685862bd"
		code, out, errOut := cliWith(t.Context(), srv.RoundTripper(), vars, "notes", "get", missing, "--json")
		assert.Equal(t, exitFailed, code)
		assert.Empty(t, out)
		e := decodeError(t, errOut)
		assert.Equal(t, "not_found", e.Type)
		require.NotNil(t, e.Status)
		assert.Equal(t, 404, *e.Status)
		require.NotNil(t, e.RequestID)
		assert.NotEmpty(t, *e.RequestID)
		assert.Contains(t, e.Message, "not found (404)")
		assert.NotContains(t, errOut, "secret-key-123")

		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), map[string]string{"MEM_API_KEY": "wrong", "MEM_API_URL": "http://mem.test"}, "--json", "limits")
		assert.Equal(t, exitFailed, code)
		e = decodeError(t, errOut)
		require.NotNil(t, e.Status)
		assert.Equal(t, 401, *e.Status)
		assert.NotContains(t, errOut, "wrong")

		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), nil, "notes", "list", "--json")
		assert.Equal(t, exitFailed, code)
		e = decodeError(t, errOut)
		assert.Equal(t, errorJSON{Type: "no_api_key", Message: e.Message}, e)

		for _, args := range [][]string{{"notes", "get", "not-a-uuid", "--json"}, {"notes", "list", "--bogus", "--json"}} {
			code, _, errOut = cli(t.Context(), srv, "", args...)
			assert.Equal(t, exitUsage, code, args)
			e = decodeError(t, errOut)
			assert.Equal(t, "usage", e.Type, args)
			assert.Equal(t, "mem notes "+args[1]+" --help", e.Help, args)
			assert.Nil(t, e.Status)
		}

		code, _, errOut = cliWith(t.Context(), srv.RoundTripper(), vars, "notes", "get", missing)
		assert.Equal(t, exitFailed, code)
		assert.True(t, strings.HasPrefix(errOut, "mem: not found (404): "), "text without --json: %q", errOut)
	})
}

// TestJSONRequestedEndsAtDoubleDash: after "--", "--json" is an argument
// (a search for it), not the flag: an error then is not printed as JSON.
func TestJSONRequestedEndsAtDoubleDash(t *testing.T) {
	root := newRootCmd(&cliEnv{})
	assert.True(t, jsonRequested(root, []string{"notes", "get", "x", "--json"}))
	assert.False(t, jsonRequested(root, []string{"notes", "search", "--", "--json"}))
}
