package memclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// newMock returns a mock server for cfg and a client that talks to it in
// memory (no sockets, so it runs inside synctest bubbles).
func newMock(t testing.TB, cfg mock.Config, opts ...Option) (*mock.Server, *Client) {
	t.Helper()
	srv, err := mock.New(cfg)
	require.NoError(t, err)
	return srv, newClientFor(t, srv, opts...)
}

func newClientFor(t testing.TB, srv *mock.Server, opts ...Option) *Client {
	t.Helper()
	base := []Option{WithAPIKey(mock.DefaultKey), WithBaseURL("http://mem.test"), WithTransport(srv.RoundTripper())}
	c, err := New(append(base, opts...)...)
	require.NoError(t, err)
	return c
}

// rtFunc is an http.RoundTripper made of a function, for recorded responses.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recorded answers every request with status, header and body, and counts
// the requests.
func recorded(status int, h http.Header, body string, calls *int) rtFunc {
	return func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		*calls++
		hh := http.Header{"Content-Type": {"application/json"}}
		for k, v := range h {
			hh[k] = v
		}
		return &http.Response{StatusCode: status, Header: hh, Body: io.NopCloser(bytes.NewBufferString(body)), Request: r}, nil
	}
}

var bg = context.Background()
