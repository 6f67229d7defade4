package mock

import (
	"net/http"
	"net/http/httptest"
)

// Loopback is a Server listening on a loopback TCP port, in the manner of
// httptest.Server. It embeds the *Server, so inspection (Journal, Levels,
// Notes...) and FailNext work on it directly. Do not use it inside a
// testing/synctest bubble (real sockets block the bubble); use Server.Client
// there.
type Loopback struct {
	*Server
	// URL is the base URL, "http://127.0.0.1:PORT", with no trailing slash.
	URL string
	hs  *httptest.Server
}

// NewLoopback starts a server for cfg on a loopback port. Close it when done.
func NewLoopback(cfg Config) (*Loopback, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	hs := httptest.NewServer(s)
	return &Loopback{Server: s, URL: hs.URL, hs: hs}, nil
}

// Client returns an *http.Client for the loopback server (it shadows
// Server.Client, which would bypass the socket).
func (l *Loopback) Client() *http.Client { return l.hs.Client() }

// Close shuts the server down, closing open connections, and waits for
// outstanding requests to finish.
func (l *Loopback) Close() { l.hs.Close() }
