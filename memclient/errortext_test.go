package memclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestErrorTextPrefixedOnce checks that an error quoting another of this
// package's errors reads with one "memclient:" prefix, and that errors.As
// still finds every layer.
func TestErrorTextPrefixedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		var api *APIError

		rateBody := `{"error":{"type":"rate_limit_exceeded","message":"slow down","details":{}}}`
		c, _ := recordedClient(t, 429, http.Header{"Retry-After": {"3600"}}, rateBody)
		_, _, err := c.Notes.List(ctx, nil)
		var rl *RateLimitError
		require.ErrorAs(t, err, &rl)
		require.ErrorAs(t, err, &api)
		assert.Equal(t, "memclient: rate limited; retry after 1h0m0s: GET /v2/notes: 429 rate_limit_exceeded: slow down", err.Error())

		c, _ = recordedClient(t, 429, http.Header{"Retry-After": {"2678400"}}, quotaBody)
		_, _, err = c.Notes.Create(ctx, &CreateNoteRequest{Content: "x"})
		var q *QuotaExceededError
		require.ErrorAs(t, err, &q)
		require.ErrorAs(t, err, &api)
		assert.Equal(t, "memclient: usage quota exceeded (plan free, used 25 of 25); resets at 2000-02-01T00:00:00Z: "+
			"POST /v2/notes: 429 quota_exceeded: usage quota exceeded", err.Error())

		c, _ = recordedClient(t, 503, nil, `{"error":{"type":"internal_error","message":"boom","details":{}}}`)
		_, _, err = c.MemIt(ctx, &MemItRequest{Input: "hello"})
		var ou *OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		require.ErrorAs(t, err, &api)
		assert.Equal(t, "memclient: POST /v2/mem-it: outcome unknown (the request may have been processed): 503 internal_error: boom", err.Error())

		for _, e := range []error{rl, q, ou} {
			assert.Equal(t, 1, strings.Count(e.Error(), "memclient:"), e.Error())
		}
	})
}

// TestErrorTextShortensPageCursor checks that an error about a list call
// shows the page cursor only in part, while *url.Error and the cause stay
// reachable.
func TestErrorTextShortensPageCursor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMock(t, mock.Config{})
		for range 3 {
			_, _, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: "note"})
			require.NoError(t, err)
		}
		l, _, err := c.Notes.List(t.Context(), &ListNotesOptions{Limit: 1})
		require.NoError(t, err)
		require.Greater(t, len(l.NextPage), 40, "a cursor long enough to matter")

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err = c.Notes.List(ctx, &ListNotesOptions{Limit: 1, Page: l.NextPage})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), l.NextPage)
		assert.Contains(t, err.Error(), "page="+l.NextPage[:cursorShown]+"…")
		assert.Contains(t, err.Error(), "limit=1")
		var ue *url.Error
		assert.ErrorAs(t, err, &ue)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestShortURL(t *testing.T) {
	long := strings.Repeat("eyJhIjoxfQ", 30)
	for _, tc := range []struct{ in, want string }{
		{"http://h/v2/notes", "http://h/v2/notes"},
		{"http://h/v2/notes?limit=5", "http://h/v2/notes?limit=5"},
		{"http://h/v2/notes?limit=5&page=" + long, "http://h/v2/notes?limit=5&page=" + long[:cursorShown] + "…"},
		{"http://h/v2/notes?page=short", "http://h/v2/notes?page=short"},
		{"http://h/v2/notes?page=" + long + "&order_by=created_at", "http://h/v2/notes?page=" + long[:cursorShown] + "…&order_by=created_at"},
	} {
		assert.Equal(t, tc.want, shortURL(tc.in), tc.in)
	}
	inner := errors.New("boom")
	err := shortURLError(&url.Error{Op: "Get", URL: "http://h/v2/notes?page=" + long, Err: inner})
	assert.ErrorIs(t, err, inner)
	assert.Equal(t, `Get "http://h/v2/notes?page=`+long[:cursorShown]+`…": boom`, err.Error())
}
