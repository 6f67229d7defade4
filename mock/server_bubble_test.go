package mock

import (
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerMadeOutsideTheBubble: a server created outside the synctest
// bubble it serves answers every call with a 500 that says why, instead of
// metering calls 27 years before its buckets' last update (which never
// refill); SetFaults does not clear it, Reset (or POST /_mock/reset)
// inside the bubble does.
func TestServerMadeOutsideTheBubble(t *testing.T) {
	tc := newClient(t, Config{})
	synctest.Test(t, func(t *testing.T) {
		tc := *tc
		tc.t = t
		e := tc.fail(http.StatusInternalServerError, ErrTypeInternal, "GET", "/v2/notes", nil)
		assert.Contains(t, e["message"], "outside the testing/synctest bubble")
		require.Empty(t, tc.s.Journal(), "nothing metered")

		require.NoError(t, tc.s.SetFaults(Faults{}))
		tc.fail(http.StatusInternalServerError, ErrTypeInternal, "GET", "/v2/notes", nil) // the buckets' clocks are still outside

		resp, _ := tc.do("POST", "/_mock/reset", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "the admin routes answer, reset included")
		tc.ok("GET", "/v2/notes", nil)
	})
}
