package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tclient sends requests to a server in memory, as one key.
type tclient struct {
	t   testing.TB
	s   *Server
	c   *http.Client
	key string

	mu        *sync.Mutex
	validated []string // schema names checked, "" where none applied
}

func newClient(t testing.TB, cfg Config) *tclient {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	return &tclient{t: t, s: s, c: s.Client(), key: DefaultKey, mu: new(sync.Mutex)}
}

func (tc *tclient) as(key string) *tclient {
	c := *tc
	c.key = key
	return &c
}

// do sends a request; body is marshalled unless it is a string or []byte.
// It returns the response (body read and closed) and the body bytes.
func (tc *tclient) do(method, path string, body any) (*http.Response, []byte) {
	tc.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(tc.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, "http://mem.test"+path, rd)
	require.NoError(tc.t, err)
	if tc.key != "" {
		req.Header.Set("Authorization", "Bearer "+tc.key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tc.c.Do(req)
	require.NoError(tc.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tc.t, err)
	name := validateResponse(tc.t, method, path, resp.StatusCode, b)
	tc.mu.Lock()
	tc.validated = append(tc.validated, name)
	tc.mu.Unlock()
	return resp, b
}

// ok sends a request that must succeed and decodes its body.
func (tc *tclient) ok(method, path string, body any) map[string]any {
	tc.t.Helper()
	resp, b := tc.do(method, path, body)
	require.Equal(tc.t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, path, b)
	var m map[string]any
	require.NoError(tc.t, json.Unmarshal(b, &m))
	require.NotEmpty(tc.t, m["request_id"])
	return m
}

// fail sends a request that must fail with status and error type, and
// returns the envelope's error object.
func (tc *tclient) fail(status int, typ, method, path string, body any) map[string]any {
	tc.t.Helper()
	resp, b := tc.do(method, path, body)
	require.Equal(tc.t, status, resp.StatusCode, "%s %s: %s", method, path, b)
	return requireEnvelope(tc.t, b, typ)
}

func requireEnvelope(t testing.TB, b []byte, typ string) map[string]any {
	t.Helper()
	var env struct {
		Error map[string]any `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &env), "%s", b)
	require.NotNil(t, env.Error, "%s", b)
	if typ != "" {
		require.Equal(t, typ, env.Error["type"], "%s", b)
	}
	require.IsType(t, "", env.Error["message"])
	require.IsType(t, map[string]any{}, env.Error["details"])
	return env.Error
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// checked asserts that responses were validated against each named schema,
// when the spec is present (without it nothing is validated).
func (tc *tclient) checked(names ...string) {
	tc.t.Helper()
	if loadSpec() != nil {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, n := range names {
		assert.Contains(tc.t, tc.validated, n)
	}
}
