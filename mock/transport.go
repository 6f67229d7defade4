package mock

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// RoundTripper returns an http.RoundTripper that serves requests in memory by
// calling the server directly, without sockets: the request's URL host is
// ignored. Injected latency waits on a timer that honours the request's
// context, so everything runs on virtual time inside a testing/synctest
// bubble. It is safe for concurrent use.
//
// A reset or lost response is returned as an error that wraps an
// *InjectedError (errors.Is(err, syscall.ECONNRESET) holds); a done context
// returns the context's error.
func (s *Server) RoundTripper() http.RoundTripper { return transport{s} }

// Client returns an *http.Client that uses RoundTripper. Send requests to any
// absolute URL, e.g. "http://mem.test/v2/notes".
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.RoundTripper()} }

type transport struct{ s *Server }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sr := req.Clone(ctx)
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:1"
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	res := t.s.serve(sr)
	switch {
	case res.canceled:
		return nil, ctx.Err()
	case res.drop:
		return nil, res.dropErr
	}
	h := res.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	var body io.ReadCloser = io.NopCloser(bytes.NewReader(res.body))
	if req.Method == http.MethodHead {
		body = http.NoBody
	}
	return &http.Response{
		Status:        strconv.Itoa(res.status) + " " + http.StatusText(res.status),
		StatusCode:    res.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: int64(len(res.body)),
		Request:       req,
	}, nil
}
