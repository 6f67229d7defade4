package mock

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// specPath is the OpenAPI document, outside the repository.
const specPath = "../../shared/mem-api/openapi.json"

var spec struct {
	once     sync.Once
	err      error
	paths    map[string]map[string]any // raw "paths" object
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	cache    map[string]*jsonschema.Schema
}

func loadSpec() error {
	spec.once.Do(func() {
		b, err := os.ReadFile(specPath)
		if err != nil {
			spec.err = err
			return
		}
		var raw struct {
			Paths map[string]map[string]any `json:"paths"`
		}
		if spec.err = json.Unmarshal(b, &raw); spec.err != nil {
			return
		}
		spec.paths = raw.Paths
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			spec.err = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		if spec.err = c.AddResource("file:///openapi.json", doc); spec.err != nil {
			return
		}
		spec.compiler = c
		spec.cache = map[string]*jsonschema.Schema{}
	})
	return spec.err
}

// specRequiredEnv, set to 1, makes a missing or unreadable spec fail the
// tests instead of skipping their schema checks: scripts/test sets it when
// the spec is there, so that CI never passes without the checks.
const specRequiredEnv = "MEM_SPEC_REQUIRED"

// requireSpec skips the test when the spec is not beside the repository
// (fails it under MEM_SPEC_REQUIRED=1).
func requireSpec(t testing.TB) {
	t.Helper()
	if err := loadSpec(); err != nil {
		if os.Getenv(specRequiredEnv) == "1" {
			t.Fatalf("OpenAPI spec required (%s=1) but not loaded from %s: %v", specRequiredEnv, specPath, err)
		}
		noteSchemaSkip(t)
		t.Skipf("OpenAPI spec not available at %s (%v): skipping schema validation", specPath, err)
	}
}

// schemaSkips records the tests whose schema checks were skipped, for
// specOrSkipAtEnd and TestMain's summary.
var schemaSkips struct {
	mu     sync.Mutex
	marked map[testing.TB]bool
	names  []string
}

// noteSchemaSkip records t's schema checks as skipped and reports whether
// this is the first time for t.
func noteSchemaSkip(t testing.TB) bool {
	schemaSkips.mu.Lock()
	defer schemaSkips.mu.Unlock()
	if schemaSkips.marked[t] {
		return false
	}
	if schemaSkips.marked == nil {
		schemaSkips.marked = map[testing.TB]bool{}
	}
	schemaSkips.marked[t] = true
	schemaSkips.names = append(schemaSkips.names, t.Name())
	return true
}

// specOrSkipAtEnd reports whether the spec is loaded. When it is not, the
// test's other checks still run and the test ends with a t.Skip giving the
// reason (unless it failed); under MEM_SPEC_REQUIRED=1 it fails instead.
// Safe from any goroutine of the test. A skip inside a synctest bubble does
// not reach the test's result (synctest.Test drops it), so TestMain also
// lists every test that skipped its schema checks.
func specOrSkipAtEnd(t testing.TB) bool {
	t.Helper()
	err := loadSpec()
	if err == nil {
		return true
	}
	if !noteSchemaSkip(t) {
		return false
	}
	if os.Getenv(specRequiredEnv) == "1" {
		t.Errorf("OpenAPI spec required (%s=1) but not loaded from %s: %v", specRequiredEnv, specPath, err)
		return false
	}
	t.Cleanup(func() {
		t.Skipf("schema checks skipped: OpenAPI spec not available at %s (%v); the test's other checks ran", specPath, err)
	})
	return false
}

// schemaNamed compiles #/components/schemas/NAME.
func schemaNamed(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	spec.mu.Lock()
	defer spec.mu.Unlock()
	if s, ok := spec.cache[name]; ok {
		return s
	}
	s, err := spec.compiler.Compile("file:///openapi.json#/components/schemas/" + name)
	require.NoError(t, err, name)
	spec.cache[name] = s
	return s
}

// responseSchema names the schema the spec gives for (method, pattern,
// status), or "" if it gives none.
func responseSchema(method, pattern string, status int) string {
	op, ok := spec.paths[pattern][strings.ToLower(method)].(map[string]any)
	if !ok {
		return ""
	}
	resp, _ := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
	ref, _ := jsonPath(resp, "content", "application/json", "schema", "$ref").(string)
	return strings.TrimPrefix(ref, "#/components/schemas/")
}

func jsonPath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// validateResponse checks body against the spec's schema for the call, when
// the spec declares one. It returns the schema name checked. Without the
// spec it checks nothing and the test ends as skipped (see specOrSkipAtEnd).
func validateResponse(t testing.TB, method, path string, status int, body []byte) string {
	t.Helper()
	if !specOrSkipAtEnd(t) {
		return ""
	}
	_, _, pattern := findRoute(httptest.NewRequest(method, "http://mem.test"+path, nil))
	name := responseSchema(method, pattern, status)
	if name == "" {
		return ""
	}
	// The spec's only 429 schema is the quota one; a rate-limit 429 has the
	// plain error envelope.
	if status == 429 && !bytes.Contains(body, []byte(`"type":"quota_exceeded"`)) {
		return ""
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, schemaNamed(t, name).Validate(inst), "%s %s → %d does not match %s:\n%s", method, path, status, name, body)
	validatedMu.Lock()
	validatedSchemas[name] = true
	validatedMu.Unlock()
	return name
}

var (
	validatedMu      sync.Mutex
	validatedSchemas = map[string]bool{}
)

// TestMain lists the tests that skipped their schema checks, and checks,
// after a full run with the spec present, that every route's 200 schema was
// validated against at least one real response.
func TestMain(m *testing.M) {
	code := m.Run()
	if names := slices.Compact(slices.Sorted(slices.Values(schemaSkips.names))); len(names) > 0 {
		fmt.Fprintf(os.Stderr, "mock: schema checks SKIPPED in %d tests (no OpenAPI spec at %s): %s\n",
			len(names), specPath, strings.Join(names, " "))
	}
	if code == 0 && loadSpec() == nil && flag.Lookup("test.run").Value.String() == "" &&
		flag.Lookup("test.short").Value.String() != "true" {
		for _, r := range routes {
			if name := responseSchema(r.method, r.pattern, 200); !validatedSchemas[name] {
				fmt.Fprintf(os.Stderr, "no test validated a %s response (%s %s)\n", name, r.method, r.pattern)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// TestSpecRoutes checks that every route the mock serves is a v2 operation
// of the spec with a 200 response schema.
func TestSpecRoutes(t *testing.T) {
	requireSpec(t)
	for _, r := range routes {
		require.NotEmpty(t, responseSchema(r.method, r.pattern, 200), "%s %s", r.method, r.pattern)
	}
	require.Len(t, routes, 20)
}
