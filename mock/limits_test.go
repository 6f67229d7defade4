package mock

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
)

// lastCost returns the last journal entry's request and complexity cost.
func lastCost(t *testing.T, s *Server) Cost {
	t.Helper()
	j := s.Journal()
	require.NotEmpty(t, j)
	e := j[len(j)-1]
	return Cost{Requests: e.RequestCost, Complexity: e.ComplexityCost}
}

func TestCostTable(t *testing.T) {
	tc := newClient(t, Config{Limits: Limits{ComplexityPerMinute: 10000, Costs: map[string]Cost{
		"POST /v2/notes/search":        {Complexity: 5},
		"GET /v2/notes/{id}":           {Requests: 2, Complexity: 3}, // the wildcard's name does not matter
		"POST /v2/mem-it":              {Complexity: 60},
		"POST /v2/notes/{id}/summary":  {Complexity: 10}, // an endpoint Mem has added
		"GET /v2/collections/{id}/tag": {},               // added, default price
	}}})
	s := tc.s

	tc.ok("POST", "/v2/notes/search", map[string]any{"query": "x"})
	assert.Equal(t, Cost{1, 5}, lastCost(t, s))
	id := tc.ok("POST", "/v2/notes", map[string]any{"content": "hello"})["id"].(string)
	assert.Equal(t, Cost{1, 1}, lastCost(t, s), "no entry: the default")
	tc.ok("GET", "/v2/notes/"+id, nil)
	assert.Equal(t, Cost{2, 3}, lastCost(t, s))
	tc.ok("POST", "/v2/mem-it", map[string]any{"input": "x"})
	assert.Equal(t, Cost{1, 60}, lastCost(t, s), "an entry overrides MemItComplexity")

	resp, b := tc.do("POST", "/v2/notes/"+id+"/summary", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	assert.JSONEq(t, `{}`, string(b))
	assert.Equal(t, Cost{1, 10}, lastCost(t, s))
	st, err := headers.Parse(resp.Header)
	require.NoError(t, err)
	assert.True(t, st.Complexity.Present(), "the new endpoint's answer carries the rate headers")
	resp, _ = tc.do("GET", "/v2/collections/"+id+"/tag", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, Cost{1, 1}, lastCost(t, s))

	// A path no entry names is still 404, and a known path's other method 405.
	tc.fail(http.StatusNotFound, ErrTypeNotFound, "POST", "/v2/notes/"+id+"/nope", nil)
	tc.fail(http.StatusMethodNotAllowed, ErrTypeMethodNotAllowed, "PUT", "/v2/notes/search", nil)
}

func TestCostTableInvalid(t *testing.T) {
	for name, costs := range map[string]map[string]Cost{
		"no method":       {"/v2/notes": {Complexity: 2}},
		"bad method":      {"FETCH /v2/notes": {Complexity: 2}},
		"relative":        {"GET v2/notes": {Complexity: 2}},
		"admin":           {"GET /_mock/state": {Complexity: 2}},
		"negative":        {"GET /v2/notes": {Complexity: -1}},
		"same endpoint":   {"GET /v2/notes/{a}": {Complexity: 2}, "GET /v2/notes/{b}": {Complexity: 3}},
		"rest wildcard":   {"GET /v2/files/{path...}": {Complexity: 2}},
		"half wildcard":   {"GET /v2/x{id}": {Complexity: 2}},
		"empty segment":   {"GET /v2//x": {Complexity: 2}},
		"conflicting new": {"GET /v2/x/{a}/y": {Complexity: 2}, "GET /v2/x/z/{b}": {Complexity: 3}},
	} {
		_, err := New(Config{Limits: Limits{Costs: costs}})
		assert.Error(t, err, name)
		s := MustNew(Config{})
		assert.Error(t, s.SetLimits(Limits{Costs: costs}), name)
		assert.Empty(t, s.Limits().Costs, "%s: nothing changed", name)
	}
}

// TestSetLimitsKeepsLevels: a changed limit keeps each bucket's level, at
// most the new limit, and refills at the new rate from then on.
func TestSetLimitsKeepsLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		s := tc.s
		require.True(t, s.Spend(DefaultKey, 40, 0)) // 60 of 100 requests left
		require.NoError(t, s.SetLimits(Limits{RequestsPerMinute: 50, ComplexityPerMinute: 300, MemItComplexity: 60}))

		lv, _ := s.Levels(DefaultKey)
		assert.Equal(t, BucketLevel{Limit: 50, Tokens: 50}, lv.RequestsMinute, "60 left, capped at the new 50")
		assert.EqualValues(t, 300, lv.ComplexityMinute.Limit)
		assert.InDelta(t, 200, lv.ComplexityMinute.Tokens, 1e-9, "raised limit: the level stays")
		assert.EqualValues(t, 4000, lv.RequestsDay.Limit, "zero fields take the defaults")

		resp, _ := tc.do("POST", "/v2/mem-it", map[string]any{"input": "x"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, Cost{1, 60}, lastCost(t, s))
		st, err := headers.Parse(resp.Header)
		require.NoError(t, err)
		assert.EqualValues(t, 49, st.Requests.Remaining)
		assert.EqualValues(t, 50, st.Requests.Limit)
		assert.EqualValues(t, 140, st.Complexity.Remaining)
		assert.EqualValues(t, 300, st.Complexity.Limit)

		// The new rate: 50 a minute is one token every 1.2 s.
		require.True(t, s.Spend(DefaultKey, 100, 0))
		time.Sleep(1200 * time.Millisecond)
		lv, _ = s.Levels(DefaultKey)
		assert.InDelta(t, 1, lv.RequestsMinute.Tokens, 1e-9)

		// A new period keeps the level in tokens, fraction included.
		time.Sleep(600 * time.Millisecond) // 1.5 tokens
		require.NoError(t, s.SetLimits(Limits{RequestsPerMinute: 50, ComplexityPerMinute: 300, MemItComplexity: 60, Minute: time.Second}))
		lv, _ = s.Levels(DefaultKey)
		assert.InDelta(t, 1.5, lv.RequestsMinute.Tokens, 1e-6)
		time.Sleep(10 * time.Millisecond) // 50 a second: 0.5 token
		lv, _ = s.Levels(DefaultKey)
		assert.InDelta(t, 2, lv.RequestsMinute.Tokens, 1e-6)

		// Reset keeps the limits in force.
		s.Reset()
		lv, _ = s.Levels(DefaultKey)
		assert.Equal(t, BucketLevel{Limit: 50, Tokens: 50}, lv.RequestsMinute)

		assert.Error(t, s.SetLimits(Limits{RequestsPerMinute: -1}))
		assert.EqualValues(t, 50, s.Limits().RequestsPerMinute, "an invalid change changes nothing")
	})
}

func TestAdminLimits(t *testing.T) {
	tc := newClient(t, Config{})
	s := tc.s
	var got LimitsJSON
	_, b := tc.as("").do("GET", "/_mock/limits", nil)
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, DefaultLimits().JSON(), got)

	// Fields left out keep their value; costs replaces the table.
	resp, b := tc.as("").do("PUT", "/_mock/limits", `{"requests_per_minute":50,"costs":{"POST /v2/notes/search":{"complexity":5}}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	l := s.Limits()
	assert.EqualValues(t, 50, l.RequestsPerMinute)
	assert.EqualValues(t, 200, l.ComplexityPerMinute)
	assert.Equal(t, map[string]Cost{"POST /v2/notes/search": {Complexity: 5}}, l.Costs)
	resp, b = tc.as("").do("PUT", "/_mock/limits", `{"complexity_per_minute":120}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	l = s.Limits()
	assert.EqualValues(t, 120, l.ComplexityPerMinute)
	assert.Len(t, l.Costs, 1, "no costs in the body: the table stays")
	resp, _ = tc.as("").do("PUT", "/_mock/limits", `{"costs":{}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, s.Limits().Costs)

	// The state shows the limits in force.
	_, b = tc.as("").do("GET", "/_mock/state", nil)
	assert.Contains(t, string(b), `"complexity_per_minute":120`)

	// Bad input: the error envelope, nothing changed.
	before := s.Limits()
	for body, status := range map[string]int{
		`{"requests_per_minute":-5}`:                  http.StatusUnprocessableEntity,
		`{"minute":"soon"}`:                           http.StatusUnprocessableEntity,
		`{"costs":{"GET /v2/notes":{"requests":-1}}}`: http.StatusUnprocessableEntity,
		`{"costs":{"nope":{"complexity":1}}}`:         http.StatusUnprocessableEntity,
		`{"requests_per_min":5}`:                      http.StatusBadRequest, // a typo is not ignored
		`{"requests_per_minute":"5"}`:                 http.StatusBadRequest,
		`{"requests_per_minute":5} {}`:                http.StatusBadRequest,
		`not json`:                                    http.StatusBadRequest,
		`{"requests_per_minute":` + maxInt64() + `}`:  http.StatusUnprocessableEntity,
		`{"requests_per_minute":` + maxInt64() + `0}`: http.StatusBadRequest,
	} {
		resp, b := tc.as("").do("PUT", "/_mock/limits", body)
		assert.Equal(t, status, resp.StatusCode, "%s: %s", body, b)
		requireEnvelope(t, b, "")
		assert.Equal(t, before, s.Limits(), body)
	}
	resp, _ = tc.as("").do("POST", "/_mock/limits", `{}`)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, PUT", resp.Header.Get("Allow"))
}

func maxInt64() string { return strconv.FormatInt(1<<63-1, 10) }
