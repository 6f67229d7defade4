package mock

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loopbackDo(t *testing.T, c *http.Client, method, url, key, body string) (*http.Response, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestLoopbackAndAdminAPI(t *testing.T) {
	lb, err := NewLoopback(Config{Keys: []string{"k1", "k2"}})
	require.NoError(t, err)
	defer lb.Close()
	c := lb.Client()

	resp, b, err := loopbackDo(t, c, "POST", lb.URL+"/v2/notes", "k1", `{"content":"over tcp"}`)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	assert.Equal(t, "99", resp.Header.Get("X-RateLimit-Remaining"))
	validateResponse(t, "POST", "/v2/notes", 200, b)

	// State: keys redacted, counts and levels.
	resp, b, err = loopbackDo(t, c, "GET", lb.URL+"/_mock/state", "", "")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	assert.NotContains(t, string(b), `"k1"`)
	var st struct {
		Limits struct {
			RequestsPerMinute int64 `json:"requests_per_minute"`
		} `json:"limits"`
		Keys []struct {
			Key    string `json:"key"`
			Notes  int    `json:"notes"`
			Levels struct {
				RequestsMinute struct {
					Tokens float64 `json:"tokens"`
				} `json:"requests_minute"`
			} `json:"levels"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(b, &st))
	assert.EqualValues(t, 100, st.Limits.RequestsPerMinute)
	require.Len(t, st.Keys, 2)
	assert.Equal(t, Key("k1").Redacted(), st.Keys[0].Key)
	assert.Equal(t, 1, st.Keys[0].Notes)
	assert.Less(t, st.Keys[0].Levels.RequestsMinute.Tokens, 100.0)

	// Faults: a reset over loopback is a connection error. (A POST: Go's
	// transport silently retries an idempotent GET once when a reused
	// connection dies before any response.)
	resp, b, err = loopbackDo(t, c, "POST", lb.URL+"/_mock/faults/next", "", `{"method":"POST","path":"/v2/notes","count":1,"fault":"reset"}`)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	_, _, err = loopbackDo(t, c, "POST", lb.URL+"/v2/notes", "k1", `{"content":"reset"}`)
	require.Error(t, err)
	assert.Len(t, lb.Notes("k1"), 1, "a reset call is not processed")
	resp, _, err = loopbackDo(t, c, "GET", lb.URL+"/v2/notes", "k1", "")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)

	// Lost: the note is stored, the client sees an error.
	lb.FailNext("POST", "/v2/notes", 1, FaultLost)
	_, _, err = loopbackDo(t, c, "POST", lb.URL+"/v2/notes", "k1", `{"content":"lost"}`)
	require.Error(t, err)
	assert.Len(t, lb.Notes("k1"), 2)

	resp, b, err = loopbackDo(t, c, "PUT", lb.URL+"/_mock/faults", "", `{"retry_after_date":true,"latency":"1ms","response_latency":"2ms","response_jitter":"3ms","neighbour":{"interval":"1h"}}`)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	assert.True(t, lb.Faults().RetryAfterDate)
	resp, b, err = loopbackDo(t, c, "GET", lb.URL+"/_mock/faults", "", "")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	assert.Contains(t, string(b), `"latency":"1ms"`)
	assert.Contains(t, string(b), `"response_latency":"2ms","response_jitter":"3ms"`)
	assert.Equal(t, 2*time.Millisecond, lb.Faults().ResponseLatency)
	resp, _, err = loopbackDo(t, c, "PUT", lb.URL+"/_mock/faults", "", `{"response_jitter":"-1s"}`)
	require.NoError(t, err)
	assert.Equal(t, 422, resp.StatusCode)
	resp, _, err = loopbackDo(t, c, "PUT", lb.URL+"/_mock/faults", "", `{"response_latency":"soon"}`)
	require.NoError(t, err)
	assert.Equal(t, 422, resp.StatusCode)
	resp, _, err = loopbackDo(t, c, "PUT", lb.URL+"/_mock/faults", "", `{"error_rate":3}`)
	require.NoError(t, err)
	assert.Equal(t, 422, resp.StatusCode)
	resp, _, err = loopbackDo(t, c, "POST", lb.URL+"/_mock/faults/next", "", `{"path":"/v2/notes","count":1,"fault":"nope"}`)
	require.NoError(t, err)
	assert.Equal(t, 422, resp.StatusCode)

	// Notes of a key.
	resp, b, err = loopbackDo(t, c, "GET", lb.URL+"/_mock/notes", "k1", "")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(b), `"content":"over tcp"`)
	assert.Contains(t, string(b), `"content":"lost"`)
	resp, _, err = loopbackDo(t, c, "GET", lb.URL+"/_mock/notes", "", "")
	require.NoError(t, err)
	assert.Equal(t, 401, resp.StatusCode)

	// Spend from k2.
	resp, b, err = loopbackDo(t, c, "POST", lb.URL+"/_mock/spend", "k2", `{"requests":100,"complexity":50}`)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	lv, _ := lb.Levels("k2")
	assert.Less(t, lv.RequestsMinute.Tokens, 1.0)
	assert.InDelta(t, 150.0, lv.ComplexityMinute.Tokens, 1)

	// Journal: redacted keys, statuses.
	resp, b, err = loopbackDo(t, c, "GET", lb.URL+"/_mock/journal", "", "")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	assert.NotContains(t, string(b), `"k1"`)
	var j struct {
		Entries []Entry `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(b, &j))
	assert.Len(t, j.Entries, 4)

	// Reset.
	resp, _, err = loopbackDo(t, c, "POST", lb.URL+"/_mock/reset", "", "")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Empty(t, lb.Notes("k1"))
	assert.Empty(t, lb.Journal())

	resp, b, err = loopbackDo(t, c, "GET", lb.URL+"/_mock/nothing", "", "")
	require.NoError(t, err)
	assert.Equal(t, 404, resp.StatusCode)
	requireEnvelope(t, b, ErrTypeNotFound)
	resp, _, err = loopbackDo(t, c, "DELETE", lb.URL+"/_mock/state", "", "")
	require.NoError(t, err)
	assert.Equal(t, 405, resp.StatusCode)

	resp, b, err = loopbackDo(t, c, "GET", lb.URL+"/v2/notes", "", "")
	require.NoError(t, err)
	assert.Equal(t, 401, resp.StatusCode)
	requireEnvelope(t, b, ErrTypeUnauthorized)
}
