package mock

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestRoundTripperResponse(t *testing.T) {
	s := MustNew(Config{})
	body := &closeTracker{Reader: strings.NewReader(`{"content":"hi"}`)}
	req, err := http.NewRequest("POST", "https://api.mem.ai/v2/notes", body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	resp, err := s.RoundTripper().RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.True(t, body.closed, "the request body is closed")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "200 OK", resp.Status)
	assert.Same(t, req, resp.Request)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.EqualValues(t, len(b), resp.ContentLength)
	assert.Contains(t, string(b), `"title":"hi"`)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", "https://api.mem.ai/v2/notes", nil)
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	_, err = s.RoundTripper().RoundTrip(req)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Len(t, s.Journal(), 1, "a canceled request never arrived")
}

func TestObserve(t *testing.T) {
	var seen []Entry
	s := MustNew(Config{Observe: func(e Entry) { seen = append(seen, e) }})
	for _, key := range []string{DefaultKey, "wrong"} {
		req, _ := http.NewRequest("GET", "http://mem.test/v2/notes", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Len(t, seen, 2)
	assert.Equal(t, 200, seen[0].Status)
	assert.Equal(t, 401, seen[1].Status)
	assert.Equal(t, s.Journal(), seen)
}
