package mock

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRouting pins how paths and methods reach routes: what is a 404, what
// a 405 (with the envelope and Allow), what each costs, and the paths that
// are read loosely (slashes) or strictly (the admin API, unclean paths).
func TestRouting(t *testing.T) {
	s := MustNew(Config{Limits: benchLimits})
	id := serveJSON(t, s, "POST", "/v2/notes", `{"content":"# Routed"}`)["id"].(string)
	coll := serveJSON(t, s, "POST", "/v2/collections", `{"title":"c"}`)["id"].(string)

	send := func(method, target, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, "http://mem.test"+target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	for _, tc := range []struct {
		method, target, body string
		status               int
		typ                  string // the error type, "" for a 200
		allow                string // for a 405
	}{
		{"GET", "/v2/nothing", "", 404, ErrTypeNotFound, ""},
		{"GET", "/v2", "", 404, ErrTypeNotFound, ""},
		{"GET", "/", "", 404, ErrTypeNotFound, ""},
		{"POST", "/v2/notes/" + id, "", 405, ErrTypeMethodNotAllowed, "DELETE, GET, PATCH"},
		{"PUT", "/v2/notes", "", 405, ErrTypeMethodNotAllowed, "GET, POST"},
		{"HEAD", "/v2/notes", "", 405, ErrTypeMethodNotAllowed, "GET, POST"},
		{"HEAD", "/v2/nothing", "", 404, ErrTypeNotFound, ""},
		{"OPTIONS", "/v2/mem-it", "", 405, ErrTypeMethodNotAllowed, "POST"},
		{"GET", "/v2/collections/" + coll + "/notes/" + id, "", 405, ErrTypeMethodNotAllowed, "DELETE, PUT"},
		// search is not an id for POST; for the methods of a note, it is.
		{"POST", "/v2/notes/search", `{"query":"routed"}`, 200, "", ""},
		{"GET", "/v2/notes/search", "", 422, ErrTypeValidation, ""},
		{"PUT", "/v2/notes/search", "", 405, ErrTypeMethodNotAllowed, "DELETE, GET, PATCH, POST"},
		{"POST", "/v2/collections/search", `{}`, 200, "", ""},
		{"GET", "/v2/collections/search", "", 422, ErrTypeValidation, ""},
		// Leading and trailing slashes are ignored; an escaped slash is one.
		{"GET", "/v2/notes/", "", 200, "", ""},
		{"GET", "//v2/notes//", "", 200, "", ""},
		{"GET", "/v2/notes/" + id + "/", "", 200, "", ""},
		{"POST", "/v2/notes/" + id + "%2Ftrash", "", 200, "", ""},
		// Empty segments match nothing; dot segments are names.
		{"GET", "/v2//notes", "", 404, ErrTypeNotFound, ""},
		{"POST", "/v2/notes//trash", "", 404, ErrTypeNotFound, ""},
		{"GET", "/v2/notes/.", "", 422, ErrTypeValidation, ""},
		{"POST", "/v2/notes/../trash", "", 422, ErrTypeValidation, ""},
		{"GET", "/v2/notes/./trash", "", 405, ErrTypeMethodNotAllowed, "POST"},
		{"GET", "/v2/./notes", "", 404, ErrTypeNotFound, ""},
		// The admin API matches exact paths.
		{"GET", "/_mock/state", "", 200, "", ""},
		{"GET", "/_mock/state/", "", 404, ErrTypeNotFound, ""},
		{"GET", "/_mock", "", 404, ErrTypeNotFound, ""},
		{"GET", "/_mock/nothing", "", 404, ErrTypeNotFound, ""},
		{"GET", "/_mock//state", "", 404, ErrTypeNotFound, ""},
		{"GET", "/_mock/./state", "", 404, ErrTypeNotFound, ""},
		{"GET", "/_mock/st%61te", "", 200, "", ""},
		{"DELETE", "/_mock/state", "", 405, ErrTypeMethodNotAllowed, "GET"},
		{"HEAD", "/_mock/state", "", 405, ErrTypeMethodNotAllowed, "GET"},
		{"GET", "/_mock/faults/next", "", 405, ErrTypeMethodNotAllowed, "POST"},
		{"POST", "/_mock/faults", "", 405, ErrTypeMethodNotAllowed, "GET, PUT"},
	} {
		name := tc.method + " " + tc.target
		before := len(s.Journal())
		w := send(tc.method, tc.target, tc.body)
		require.Equal(t, tc.status, w.Code, "%s: %s", name, w.Body.Bytes())
		if tc.typ != "" {
			requireEnvelope(t, w.Body.Bytes(), tc.typ)
		}
		assert.Equal(t, tc.allow, w.Header().Get("Allow"), name)
		if strings.HasPrefix(tc.target, "/_mock") {
			assert.Len(t, s.Journal(), before, "%s: the admin API is not journaled", name)
			continue
		}
		// Every authenticated API call is charged one request and one
		// complexity token, unknown routes and wrong methods included.
		j := s.Journal()
		require.Len(t, j, before+1, name)
		e := j[len(j)-1]
		assert.Equal(t, int64(1), e.RequestCost, name)
		assert.Equal(t, int64(1), e.ComplexityCost, name)
		assert.NotEmpty(t, w.Header().Get("X-RateLimit-Remaining"), name)
	}
}

// TestFailNextMatchesWrongMethodsByPattern: a FailNext rule for any method
// and a route pattern applies to a call of that path with a method no route
// takes (the pattern is the first route's with the path), and a rule for an
// unknown path to a call of it.
func TestFailNextMatchesWrongMethodsByPattern(t *testing.T) {
	s := MustNew(Config{Limits: benchLimits})
	id := uuid.NewString()
	for _, tc := range []struct{ rule, method, target string }{
		{"/v2/notes/{note_id}", "POST", "/v2/notes/" + id},
		{"/v2/notes/search", "PUT", "/v2/notes/search"},
		{"/v2/notes/{note_id}", "GET", "/v2/notes/search"},
		{"/v2/collections/{collection_id}/notes/{note_id}", "POST", "/v2/collections/" + id + "/notes/" + id},
		{"/v2/nothing", "GET", "/v2/nothing"},
	} {
		s.FailNext("", tc.rule, 1, FaultRateLimit)
		status, _ := serveRaw(t, s, tc.method, tc.target, "")
		assert.Equal(t, http.StatusTooManyRequests, status, "%s %s under a rule for %s", tc.method, tc.target, tc.rule)
		status, _ = serveRaw(t, s, tc.method, tc.target, "")
		assert.NotEqual(t, http.StatusTooManyRequests, status, "%s %s: the rule was consumed", tc.method, tc.target)
	}
}

// BenchmarkRouting serves, in process, a call to a route with a wildcard,
// one to an unknown path and one with a wrong method: routing, metering and
// the response, without sockets.
func BenchmarkRouting(b *testing.B) {
	s := MustNew(Config{Limits: benchLimits})
	id := serveJSON(b, s, "POST", "/v2/notes", `{"content":"# Routed"}`)["id"].(string)
	for _, bc := range []struct {
		name, method, target string
		status               int
	}{
		{"get-note", "GET", "/v2/notes/" + id, 200},
		{"unknown", "GET", "/v2/nothing", 404},
		{"wrong-method", "POST", "/v2/notes/" + id, 405},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(bc.method, "http://mem.test"+bc.target, nil)
			req.Header.Set("Authorization", "Bearer "+DefaultKey)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != bc.status {
					b.Fatalf("%d %s", w.Code, w.Body.Bytes())
				}
			}
		})
	}
}
