package memclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestErrUnauthorized checks that a 401 matches ErrUnauthorized in either
// of Mem's envelopes, is not retried, and that no other status matches.
func TestErrUnauthorized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, err := mock.New(mock.Config{})
		require.NoError(t, err)
		c, err := New(WithAPIKey("wrong-key"), WithBaseURL("http://mem.test"), WithTransport(srv.RoundTripper()))
		require.NoError(t, err)
		_, resp, err := c.Notes.List(t.Context(), nil)
		require.ErrorIs(t, err, ErrUnauthorized)
		var api *APIError
		require.ErrorAs(t, err, &api, "still an *APIError")
		assert.Equal(t, ErrTypeUnauthorized, api.Type)
		require.NotNil(t, resp)
		assert.Equal(t, 401, resp.StatusCode)
		assert.Equal(t, 1, resp.Attempts, "a 401 is not retried")

		c, _ = recordedClient(t, 401, nil,
			`{"error_category":"CLIENT_ERROR","error_metadata":{"error_kind":"NOT_AUTHORIZED","message":"invalid API key"}}`)
		_, _, err = c.Collections.List(t.Context(), nil)
		assert.ErrorIs(t, err, ErrUnauthorized)

		for _, status := range []int{403, 404, 500} {
			c, _ = recordedClient(t, status, nil, `{"error":{"type":"x","message":"y"}}`, WithRetryMax(0))
			_, _, err = c.Collections.List(t.Context(), nil)
			require.Error(t, err)
			assert.NotErrorIs(t, err, ErrUnauthorized, status)
		}
	})
}

// TestUnreachableServer checks what the package doc promises for a server
// that refuses connections: DefaultRetryMax retries over 3.75 to 7.5 s,
// then the transport's error (a *url.Error over a *net.OpError), and a nil
// *Response.
func TestUnreachableServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		refuse := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		})
		c, err := New(WithAPIKey("k"), WithTransport(refuse))
		require.NoError(t, err)
		start := time.Now()
		_, resp, err := c.Notes.List(t.Context(), nil)
		took := time.Since(start)
		assert.Nil(t, resp, "no response was received")
		assert.Equal(t, DefaultRetryMax+1, calls)
		assert.GreaterOrEqual(t, took, 3750*time.Millisecond)
		assert.LessOrEqual(t, took, 7500*time.Millisecond)
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		var op *net.OpError
		require.ErrorAs(t, err, &op)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		var api *APIError
		assert.False(t, errors.As(err, &api))
	})
}

// TestResponseNilOnlyWithoutAResponse checks when a method's *Response is
// nil on the error path: after a local refusal and a throttle refusal, not
// after an error response.
func TestResponseNilOnlyWithoutAResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMock(t, mock.Config{})
		_, resp, err := c.Notes.Get(t.Context(), "not-a-uuid")
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Nil(t, resp)

		_, resp, err = c.Notes.Get(t.Context(), noteID)
		var nf *NotFoundError
		require.ErrorAs(t, err, &nf)
		require.NotNil(t, resp)
		assert.Equal(t, 404, resp.StatusCode)
		assert.Equal(t, 1, resp.Attempts)

		for range 5 { // the complexity minute bucket holds 5 mem-its
			_, _, err := c.MemIt(t.Context(), &MemItRequest{Input: "x"})
			require.NoError(t, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, resp, err = c.MemIt(ctx, &MemItRequest{Input: "x"})
		var rl *RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Nil(t, resp, "the throttle refused: nothing was sent")
	})
}

// TestMemItLongRetryAfterFailsAtOnce checks MemIt's doc: a rate-limit 429
// whose Retry-After exceeds the default max retry wait fails at once, even
// under a context deadline a day away.
func TestMemItLongRetryAfterFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"error":{"type":"rate_limit_exceeded","message":"daily limit","details":{}}}`
		c, calls := recordedClient(t, 429, http.Header{"Retry-After": {"600"}}, body)
		ctx, cancel := context.WithTimeout(t.Context(), 24*time.Hour)
		defer cancel()
		start := time.Now()
		_, resp, err := c.MemIt(ctx, &MemItRequest{Input: "x"})
		var rl *RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 10*time.Minute, rl.RetryAfter)
		assert.Zero(t, time.Since(start), "failed at once")
		assert.Equal(t, 1, *calls)
		require.NotNil(t, resp)
		assert.Equal(t, 429, resp.StatusCode)
	})
}
