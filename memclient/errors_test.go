package memclient

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

const noteID = "6f1c0d1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f"

// recordedClient returns a client whose every request gets the recorded
// response, and the counter of requests.
func recordedClient(t *testing.T, status int, h http.Header, body string, opts ...Option) (*Client, *int) {
	t.Helper()
	calls := new(int)
	c, err := New(append([]Option{WithAPIKey("k"), WithTransport(recorded(status, h, body, calls))}, opts...)...)
	require.NoError(t, err)
	return c, calls
}

func TestErrorEnvelopes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()

		c, calls := recordedClient(t, 404, http.Header{"X-Request-Id": {"hdr-id"}},
			`{"error":{"type":"not_found","message":"note not found","details":{"id":"`+noteID+`"}},"request_id":"body-id"}`)
		_, resp, err := c.Notes.Get(ctx, noteID)
		var nf *NotFoundError
		require.ErrorAs(t, err, &nf)
		assert.Equal(t, "not_found", nf.API.Type)
		assert.Equal(t, "note not found", nf.API.Message)
		assert.Equal(t, noteID, nf.API.Details["id"])
		assert.Equal(t, "body-id", nf.API.RequestID)
		assert.Equal(t, "GET", nf.API.Method)
		assert.Equal(t, "/v2/notes/"+noteID, nf.API.Path)
		assert.Equal(t, 404, resp.StatusCode)
		assert.Equal(t, 1, *calls, "a 404 is not retried")

		c, _ = recordedClient(t, 401, nil,
			`{"error_category":"CLIENT_ERROR","error_metadata":{"error_kind":"NOT_AUTHORIZED","message":"invalid API key","request_id":"r-1"}}`)
		_, _, err = c.Collections.List(ctx, nil)
		var api *APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, 401, api.StatusCode)
		assert.Equal(t, "NOT_AUTHORIZED", api.Type)
		assert.Equal(t, "CLIENT_ERROR", api.Category)
		assert.Equal(t, "invalid API key", api.Message)
		assert.Equal(t, "r-1", api.RequestID)
		assert.Nil(t, api.Body)

		c, _ = recordedClient(t, 418, nil, `<html>I'm a teapot</html>`)
		_, _, err = c.Collections.List(ctx, nil)
		require.ErrorAs(t, err, &api)
		assert.Equal(t, "", api.Type)
		assert.Equal(t, `<html>I'm a teapot</html>`, string(api.Body))
		assert.Contains(t, err.Error(), "teapot")

		c, _ = recordedClient(t, 422, nil, `{"error":{"type":"validation_error","message":"content is required","details":{"field":"content"}}}`)
		_, _, err = c.Notes.Update(ctx, noteID, &UpdateNoteRequest{Content: "x", Version: 1})
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "content", ve.Field)
		require.NotNil(t, ve.API)
	})
}

const quotaBody = `{"error":{"type":"quota_exceeded","message":"usage quota exceeded","details":{"current_plan":"free","used":25,"free_used":25,"reset_time":"2000-02-01T00:00:00Z","limit":25,"free_limit":null},"upgrade_info":{"message":"Upgrade","upgrade_url":"https://mem.ai/pricing"}}}`

func TestQuotaExceededIsNeverSleptOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, calls := recordedClient(t, 429, http.Header{"Retry-After": {"2678400"}, "Cache-Control": {"private, no-store"}}, quotaBody)
		start := time.Now()
		_, _, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: "x"})
		var q *QuotaExceededError
		require.ErrorAs(t, err, &q)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start))
		assert.Equal(t, "free", q.Plan)
		assert.Equal(t, int64(25), q.Used)
		require.NotNil(t, q.Limit)
		assert.Equal(t, int64(25), *q.Limit)
		assert.Nil(t, q.FreeLimit)
		assert.Equal(t, time.Date(2000, 2, 1, 0, 0, 0, 0, time.UTC), q.ResetTime.UTC())
		assert.Equal(t, 31*24*time.Hour, q.RetryAfter)
		assert.Equal(t, "https://mem.ai/pricing", q.UpgradeURL)
		var rl *RateLimitError
		assert.False(t, errors.As(err, &rl))
		assert.Zero(t, c.Throttle().Snapshot().PausedUntil.Compare(time.Time{}) > 0, "no pause")

		// The mock's quota, end to end.
		srv, mc := newMock(t, mock.Config{Quota: mock.Quota{Allowance: 2}})
		for range 2 {
			_, _, err := mc.Notes.Create(t.Context(), &CreateNoteRequest{Content: "x"})
			require.NoError(t, err)
		}
		_, _, err = mc.MemIt(t.Context(), &MemItRequest{Input: "y"})
		require.ErrorAs(t, err, &q)
		assert.Equal(t, "free", q.Plan)
		assert.Equal(t, int64(2), q.Used)
		assert.False(t, q.ResetTime.IsZero())
		assert.Len(t, srv.Notes(mock.DefaultKey), 2)
	})
}

func TestRateLimitedBeyondMaxWaitOrDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"error":{"type":"rate_limit_exceeded","message":"slow down","details":{}}}`
		c, calls := recordedClient(t, 429, http.Header{"Retry-After": {"3600"}}, body, WithMaxRetryWait(time.Minute))
		start := time.Now()
		_, _, err := c.Notes.Get(t.Context(), noteID)
		var rl *RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, time.Hour, rl.RetryAfter)
		assert.Equal(t, start.Add(time.Hour), rl.RetryAt)
		require.NotNil(t, rl.API)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start), "failed at once")

		c, calls = recordedClient(t, 429, http.Header{"Retry-After": {"5"}}, body)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, _, err = c.Notes.Get(ctx, noteID)
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 5*time.Second, rl.RetryAfter)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start))

		// A Retry-After that ends exactly at the deadline: the context is
		// done by then, so the call fails at once, typed.
		c, calls = recordedClient(t, 429, http.Header{"Retry-After": {"2"}}, body)
		start = time.Now()
		ctx2, cancel2 := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel2()
		_, _, err = c.Notes.Get(ctx2, noteID)
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start))

		// Retries run out: the last response's typed error.
		start = time.Now()
		c, calls = recordedClient(t, 429, http.Header{"Retry-After": {"1"}}, body, WithMaxRetryWait(3*time.Second))
		_, _, err = c.Notes.Get(t.Context(), noteID)
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 1+maxRateRetries, *calls, "each 1 s Retry-After fits the max wait: retried until the count runs out")
		assert.Equal(t, "rate_limit_exceeded", rl.API.Type)
		assert.GreaterOrEqual(t, time.Since(start), maxRateRetries*time.Second, "the throttle paused for each Retry-After")

		// RetryMax 0: no retry at all.
		c, calls = recordedClient(t, 429, http.Header{"Retry-After": {"1"}}, body, WithRetryMax(0))
		_, _, err = c.Notes.Get(t.Context(), noteID)
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 1, *calls)
	})
}

func TestServerErrorsRetriedForReadsNotForMemIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"error":{"type":"internal_error","message":"boom","details":{}}}`
		c, calls := recordedClient(t, 503, nil, body)
		_, resp, err := c.Notes.Get(t.Context(), noteID)
		var api *APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, 503, api.StatusCode)
		assert.Equal(t, DefaultRetryMax+1, *calls)
		assert.Equal(t, DefaultRetryMax+1, resp.Attempts)

		c, calls = recordedClient(t, 503, nil, body)
		_, _, err = c.MemIt(t.Context(), &MemItRequest{Input: "hello"})
		var ou *OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		require.ErrorAs(t, err, &api, "wraps the 503")
		assert.Equal(t, 1, *calls)

		c, calls = recordedClient(t, 503, nil, body, WithRetryMax(1))
		_, _, err = c.MemIt(t.Context(), &MemItRequest{Input: "hello", AtLeastOnce: true})
		require.ErrorAs(t, err, &api)
		assert.False(t, errors.As(err, &ou))
		assert.Equal(t, 2, *calls, "at-least-once retries")
	})
}

func TestThrottleDeadlineBecomesRateLimitError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		for range 5 { // the complexity minute bucket holds 5 mem-its
			_, _, err := c.MemIt(t.Context(), &MemItRequest{Input: "x"})
			require.NoError(t, err)
		}
		sent := len(srv.Journal())
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, _, err := c.MemIt(ctx, &MemItRequest{Input: "x"})
		var rl *RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Nil(t, rl.API)
		var de *throttle.DeadlineError
		require.ErrorAs(t, err, &de)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.InDelta(t, 12*time.Second, rl.RetryAfter, float64(time.Second))
		assert.Equal(t, sent, len(srv.Journal()), "nothing sent")
		assert.Zero(t, srv.Count429())
	})
}

// TestClientMadeOutsideTheBubble: a client created outside the synctest
// bubble it is used in fails each call at once with the throttle's
// ErrClockBehind: nothing reached the transport, nothing is retried, and
// a mem-it is not reported as of unknown outcome.
func TestClientMadeOutsideTheBubble(t *testing.T) {
	body := `{"error":{"type":"internal_error","message":"unused","details":{}}}`
	c, calls := recordedClient(t, 500, nil, body)
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, _, err := c.Notes.List(t.Context(), nil)
		require.ErrorIs(t, err, throttle.ErrClockBehind)
		_, _, err = c.MemIt(t.Context(), &MemItRequest{Input: "text"})
		require.ErrorIs(t, err, throttle.ErrClockBehind)
		var unknown *OutcomeUnknownError
		assert.False(t, errors.As(err, &unknown), "nothing was sent: %v", err)
		assert.Zero(t, *calls, "nothing reached the transport")
		assert.Zero(t, time.Since(start), "failed at once, not retried")
	})
}
