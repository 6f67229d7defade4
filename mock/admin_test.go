package mock

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminRefusesUnknownFields checks that every admin endpoint that takes
// a body refuses one it cannot read exactly (a misspelled field, trailing
// data) with 400 in the error envelope, and changes nothing: a typo must not
// pass for a request that clears the faults or spends nothing.
func TestAdminRefusesUnknownFields(t *testing.T) {
	tc := newClient(t, Config{})
	s := tc.s
	faults := Faults{RetryAfterDate: true, MissingHeadersRate: 0.5}
	require.NoError(t, s.SetFaults(faults))
	limits := s.Limits()
	levels, _ := s.Levels(DefaultKey)

	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/_mock/faults", `{"errorrate":0.5}`},
		{"PUT", "/_mock/faults", `{"error_rate":0.5,"neighbour":{"interval":"1s","request":2}}`},
		{"PUT", "/_mock/faults", `{"error_rate":0.5} {}`},
		{"POST", "/_mock/faults/next", `{"method":"GET","path":"/v2/notes","count":1,"fault":"reset","cuont":2}`},
		{"POST", "/_mock/faults/next", `{"method":"GET","path":"/v2/notes","count":1,"fault":"reset"} x`},
		{"POST", "/_mock/spend", `{"request":100,"complexity":50}`},
		{"PUT", "/_mock/limits", `{"requests_per_min":5}`},
	} {
		t.Run(c.method+" "+c.path+" "+c.body, func(t *testing.T) {
			resp, b := tc.as(DefaultKey).do(c.method, c.path, c.body)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", b)
			requireEnvelope(t, b, ErrTypeInvalidRequest)
		})
	}

	assert.Equal(t, faults, s.Faults(), "the faults are unchanged")
	assert.Equal(t, limits, s.Limits(), "the limits are unchanged")
	after, _ := s.Levels(DefaultKey)
	assert.Equal(t, levels, after, "nothing was spent")
	assert.Empty(t, s.Journal(), "admin calls are not journalled")
	resp, b := tc.do("GET", "/v2/notes", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "no fault was queued for the next call: %s", b)
}
