package throttle

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// Transport is an http.RoundTripper that throttles every request through a
// Throttle: it reserves the request's cost (waiting as long as the buckets
// require, within req.Context()), sends the request with Base, and feeds the
// response to Throttle.Done. Request and response bodies pass through
// untouched, and a 429 is returned to the caller like any other response
// (after pausing the throttle, if it is a rate limit). It is safe for
// concurrent use; use it alone, under go-retryablehttp, or under memclient.
type Transport struct {
	// Throttle admits each request and learns from its response; it must
	// not be nil.
	Throttle *Throttle
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// NewTransport returns a Transport that throttles base through t.
func NewTransport(t *Throttle, base http.RoundTripper) *Transport {
	return &Transport{Throttle: t, Base: base}
}

// RoundTrip implements http.RoundTripper. When the wait for tokens fails
// (the context ended, or the deadline would pass: *DeadlineError) it returns
// that error without sending anything.
func (tr *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tk, err := tr.Throttle.waitRoute(req.Context(), req.Method, req.URL.Path)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	base := tr.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		tr.Throttle.Done(tk, Outcome{})
		return nil, err
	}
	o := Outcome{Responded: true, StatusCode: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode == http.StatusTooManyRequests {
		o.QuotaExceeded = isQuotaBody(resp)
	}
	tr.Throttle.Done(tk, o)
	return resp, nil
}

// maxPeek bounds how much of a 429 body is read to tell a quota from a rate
// limit; both envelopes are a few hundred bytes.
const maxPeek = 64 << 10

// isQuotaBody reports whether a 429's body is Mem's quota_exceeded envelope.
// It reads at most maxPeek bytes and puts them back in front of the rest, so
// the caller still reads the whole body.
func isQuotaBody(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), errReader{err}, resp.Body), resp.Body}
	var env struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	return json.Unmarshal(peek, &env) == nil && env.Error.Type == "quota_exceeded"
}

// errReader replays a read error met while peeking, at the point it happened.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	return 0, io.EOF
}
