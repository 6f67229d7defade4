// Package memclient is a typed client for the Mem API v2 (api.mem.ai) that
// stays inside Mem's rate limits and retries without duplicating writes.
//
// One request's way through a Client: the call is validated (an invalid call
// fails with a *ValidationError, sends nothing and spends no rate budget),
// encoded, and handed to go-retryablehttp, whose every attempt goes through a
// throttle.Transport: the attempt reserves its cost in the local mirror of
// Mem's four leaky buckets (1 request token, and 1 complexity token, or 40
// for mem-it), waits for them within the context's deadline, is sent, and the
// response's rate headers resynchronise the mirror. A rate-limit 429 pauses
// every caller of the throttle until Retry-After. Errors come back typed:
// *APIError and the more specific *NotFoundError, *ConflictError,
// *ValidationError, *RateLimitError, *QuotaExceededError and
// *OutcomeUnknownError, all usable with errors.As (see "When a call
// fails").
//
// Services hang off the client as fields, as in google/go-github:
//
//	c, err := memclient.New() // key from MEM_API_KEY
//	note, resp, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: "Title\nbody"})
//	if err == nil {
//		fmt.Println(note.ID, resp.Rate.Requests.Remaining)
//	}
//
// A Client is safe for concurrent use by many goroutines; they share its
// throttle, and so its rate budget: first come, first served, unless a
// call's context carries a priority. Mark the calls someone waits on, so
// that they go before background work queued on the same key:
//
//	ctx = throttle.WithPriority(ctx, throttle.Interactive) // or throttle.Batch for an import
//	res, _, err := c.Notes.Search(ctx, &memclient.SearchNotesRequest{Query: "harbour"})
//
// # When a call fails
//
// A method returns its result, a *Response and an error. On failure the
// *Response is nil when no response was received: the client refused the
// call (*ValidationError), the throttle refused to wait past the context's
// deadline, the context ended, or the server could not be reached. Check
// it for nil before reading resp.StatusCode or resp.Attempts on the error
// path. After an error response it is set.
//
// A key the server refuses is a 401, not retried: errors.Is(err,
// ErrUnauthorized) tells it apart. A server that cannot be reached
// (connection refused, unknown host) is retried DefaultRetryMax times with
// exponential backoff from 0.5 s, 3.75 to 7.5 s in all by default (less
// with WithRetryMax, WithMaxRetryWait or an earlier context deadline); the
// error is then the transport's, wrapped with the operation: errors.As finds
// its *url.Error, and a *net.OpError for a failed connection. A write that
// may have reached the server before its connection broke is an
// *OutcomeUnknownError instead.
//
// # Testing code that uses the client
//
// Package github.com/memsdk/mem-go/mock is an in-memory Mem server that
// enforces Mem's rate limits and can inject faults. Pass its RoundTripper
// to WithTransport and run the test inside testing/synctest: the limits then
// apply in virtual time, and minutes of throttled traffic take milliseconds
// (the module's examples/mocktest shows a whole test). Create both the mock
// server and the client inside the synctest bubble, whose clock starts in
// 2000: a client created outside fails each call at once with
// throttle.ErrClockBehind, and a mock created outside answers every call
// with a 500 that says why.
package memclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
)

// Client talks to the Mem API. Create one with New; it is safe for
// concurrent use and its configuration never changes after New.
type Client struct {
	// Notes is the notes API: create, get, list, update, delete, trash,
	// restore, search, related notes, set created-at.
	Notes *NotesService
	// Collections is the collections API: create, get, list, update,
	// delete, search and note membership.
	Collections *CollectionsService

	key          secret
	baseURL      string // without a trailing slash
	hc           *http.Client
	th           *throttle.Throttle
	retryMax     int
	maxRetryWait time.Duration
	log          *slog.Logger
	userAgent    string
	lastRate     atomic.Pointer[headers.Status]
}

// NotesService groups the notes endpoints. Use it as Client.Notes.
type NotesService struct{ c *Client }

// CollectionsService groups the collections endpoints. Use it as
// Client.Collections.
type CollectionsService struct{ c *Client }

// New returns a Client configured by opts. The API key comes from
// WithAPIKey or the MEM_API_KEY environment variable; without one, New
// fails with ErrNoAPIKey (rather than every call failing with a 401 later).
// The base URL comes from WithBaseURL, MEM_API_URL, or DefaultBaseURL.
//
// Unless WithThrottle is given, the client owns a throttle built from
// WithPolicy (default throttle.DefaultPolicy()).
func New(opts ...Option) (*Client, error) {
	cfg := config{retryMax: DefaultRetryMax, maxRetryWait: DefaultMaxRetryWait, userAgent: DefaultUserAgent}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.apiKey == nil {
		cfg.apiKey = newSecret(os.Getenv(EnvAPIKey))
	}
	if err := validKey(cfg.apiKey); err != nil {
		return nil, err
	}
	base, err := cfg.resolveBaseURL()
	if err != nil {
		return nil, err
	}
	th := cfg.throttle
	if th == nil {
		if th, err = cfg.newThrottle(); err != nil {
			return nil, err
		}
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		key:          cfg.apiKey,
		baseURL:      base,
		hc:           cfg.newHTTPClient(th),
		th:           th,
		retryMax:     cfg.retryMax,
		maxRetryWait: cfg.maxRetryWait,
		log:          logger,
		userAgent:    cfg.userAgent,
	}
	c.Notes = &NotesService{c}
	c.Collections = &CollectionsService{c}
	return c, nil
}

// resolveBaseURL returns the base URL (WithBaseURL, MEM_API_URL or
// DefaultBaseURL) without a trailing slash, or why it cannot serve.
func (cfg *config) resolveBaseURL() (string, error) {
	raw, from := cfg.baseURL, "WithBaseURL"
	if raw == "" {
		raw, from = os.Getenv(EnvBaseURL), EnvBaseURL
	}
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("memclient: base URL %q: want http(s)://host[/prefix]", redactURL(raw))
	}
	if u.User != nil {
		return "", errors.New("memclient: base URL must not carry credentials")
	}
	if p := strings.TrimRight(u.Path, "/"); strings.HasSuffix(p, "/v2") {
		u.Path, u.RawPath = strings.TrimSuffix(p, "/v2"), ""
		return "", fmt.Errorf("memclient: base URL %q (%s) ends in /v2, which the client adds itself: use %q", raw, from, u.String())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// newThrottle builds the throttle a client owns: from WithPolicy, or
// throttle.DefaultPolicy().
func (cfg *config) newThrottle() (*throttle.Throttle, error) {
	p := throttle.DefaultPolicy()
	if cfg.policy != nil {
		p = *cfg.policy
	}
	th, err := throttle.New(p)
	if err != nil {
		return nil, fmt.Errorf("memclient: %w", err)
	}
	return th, nil
}

// newHTTPClient returns the client's HTTP client: th's transport over
// WithTransport's, WithHTTPClient's or http.DefaultTransport, with
// WithHTTPClient's timeout, redirect policy and cookie jar.
func (cfg *config) newHTTPClient(th *throttle.Throttle) *http.Client {
	base := cfg.transport
	hc := &http.Client{}
	if cfg.httpClient != nil {
		hc.Timeout, hc.CheckRedirect, hc.Jar = cfg.httpClient.Timeout, cfg.httpClient.CheckRedirect, cfg.httpClient.Jar
		if base == nil {
			base = cfg.httpClient.Transport
		}
	}
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = throttle.NewTransport(th, sentMarker{base})
	return hc
}

// redactURL drops any userinfo from a URL string for error messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "@"); i >= 0 {
			return "…" + s[i:]
		}
		return s
	}
	u.User = url.User(redacted)
	return u.String()
}

// String describes the client without its key.
func (c *Client) String() string { return "memclient.Client{" + c.baseURL + "}" }

// GoString is String, so %#v does not print the fields (and the key).
func (c *Client) GoString() string { return c.String() }

// LogValue implements slog.LogValuer: the base URL only.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Throttle returns the client's throttle (its own, or the one given with
// WithThrottle). Use Snapshot on it for bucket levels, pauses and counters,
// or Estimate to plan a workload.
func (c *Client) Throttle() *throttle.Throttle { return c.th }

// Rate returns the rate status of the most recent response received by any
// call of this client that carried rate headers (zero before the first).
// With concurrent calls, "most recent" is whichever finished last.
func (c *Client) Rate() headers.Status {
	if s := c.lastRate.Load(); s != nil {
		return *s
	}
	return headers.Status{}
}

// Response describes the last HTTP response of a call (the last attempt,
// when it was retried), as go-github's Response does.
//
// A method that fails returns a nil *Response when its last attempt got no
// response: the client refused the call before sending it
// (*ValidationError), the throttle refused to wait past the context's
// deadline (*RateLimitError with a nil API), the context ended, or the
// connection failed. After an error response (a *NotFoundError, a 5xx
// *APIError, a *QuotaExceededError, …) it is set and describes that
// response. So check resp != nil before reading it on the error path.
type Response struct {
	// StatusCode is the HTTP status of the last attempt's response.
	StatusCode int
	// RequestID is Mem's id for the request (body request_id or the
	// X-Request-Id header): quote it to Mem's support.
	RequestID string
	// Rate is what the response said about the rate limits: per kind, the
	// most constrained window's limit, remaining tokens and reset time.
	// Absent kinds are zero (see headers.WindowState.Present).
	Rate headers.Status
	// Attempts is how many HTTP requests the call made (1 without
	// retries). When a retry's answer was settled by reading the resource
	// back (see NotesService.Create), the Response is the read's, and
	// Attempts counts the call's attempts and the read's.
	Attempts int
}

// settledBy returns the Response of a call whose outcome the read read
// settled: read's, with Attempts counting r's attempts too.
func settledBy(r *request, read *Response) *Response {
	if read != nil {
		read.Attempts += r.attempts
	}
	return read
}

// retryClass says how a call may be retried.
type retryClass int

const (
	// retryIdempotent: reads and writes that can be repeated safely
	// (deletes, membership, PATCH with a version, creates with an id):
	// retried on 5xx and connection errors.
	retryIdempotent retryClass = iota
	// retryMemIt: mem-it has no id; retried only when the request
	// provably did not reach the server, unless atLeastOnce.
	retryMemIt
)

// request is one API call in the making, and what its attempts found.
type request struct {
	method, path string
	query        url.Values
	body         any // JSON-encoded; nil for none
	class        retryClass
	atLeastOnce  bool

	// Set while attempts are made.
	attempts  int
	ambiguous bool // an earlier attempt may have been processed
	// sent is set when the current attempt leaves the throttle for the
	// network (see sentMarker), and cleared before each attempt.
	sent atomic.Bool
}

// sentKey is the context key under which an attempt's request carries its
// request.sent.
type sentKey struct{}

// sentMarker sits under the throttle, where an attempt leaves for the
// network: it marks the attempt as sent, so that a context that ends while
// the request is in flight (it may have been processed) can be told from
// one that ended while the call waited for tokens (it was not sent).
type sentMarker struct{ next http.RoundTripper }

// RoundTrip marks req's attempt as sent and passes it on.
func (m sentMarker) RoundTrip(req *http.Request) (*http.Response, error) {
	if sent, ok := req.Context().Value(sentKey{}).(*atomic.Bool); ok {
		sent.Store(true)
	}
	return m.next.RoundTrip(req)
}

// repeatable reports whether the request may be sent again after an attempt
// that may have been processed: idempotent calls, and mem-it with
// AtLeastOnce.
func (r *request) repeatable() bool {
	return r.class == retryIdempotent || r.atLeastOnce
}

func (r *request) op() string { return r.method + " " + r.path }

// do sends r, with retries, and decodes a 2xx body into out (unless nil).
// A non-2xx response becomes a typed error. The returned *Response is nil
// only when no response was received.
func (c *Client) do(ctx context.Context, r *request, out any) (*Response, error) {
	if ctx == nil {
		return nil, &ValidationError{Problem: "nil context"}
	}
	req, err := c.newRequest(context.WithValue(ctx, sentKey{}, &r.sent), r)
	if err != nil {
		return nil, err
	}
	resp, err := c.retryClient(r).Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return c.response(resp, r), c.transportError(r, err)
	}
	defer resp.Body.Close()
	res := c.response(resp, r)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, c.errorResponse(ctx, r, resp, res)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return res, nil
	}
	return res, decodeBody(r, resp, res, out)
}

// newRequest builds r's HTTP request: its JSON body, query and headers.
func (c *Client) newRequest(ctx context.Context, r *request) (*retryablehttp.Request, error) {
	var body any // untyped nil for no body
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, &ValidationError{Problem: "cannot encode the request body: " + err.Error()}
		}
		body = b
	}
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("memclient: %s: %w", r.op(), err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// retryClient returns the retrying client that sends r: r's retry policy
// over the client's throttled HTTP client, logging each attempt.
func (c *Client) retryClient(r *request) *retryablehttp.Client {
	p := &retryPolicy{c: c, r: r}
	return &retryablehttp.Client{
		HTTPClient:   c.hc,
		RetryMax:     c.retryMax + maxRateRetries, // check enforces the real limits
		CheckRetry:   p.check,
		Backoff:      p.backoff,
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) { return resp, err },
		RequestLogHook: func(_ retryablehttp.Logger, hr *http.Request, i int) { // before each attempt
			r.sent.Store(false)
			c.log.LogAttrs(hr.Context(), slog.LevelDebug, "mem request",
				slog.String("method", hr.Method), slog.String("path", hr.URL.Path), slog.Int("attempt", i+1))
		},
	}
}

// errorResponse reads a non-2xx response into its typed error, and fills
// res's request id from the error body when the headers had none.
func (c *Client) errorResponse(ctx context.Context, r *request, resp *http.Response, res *Response) error {
	now := time.Now()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	api := c.apiError(r, resp, b)
	if res.RequestID == "" {
		res.RequestID = api.RequestID
	}
	terr := typedError(api, resp, now)
	c.log.LogAttrs(ctx, slog.LevelDebug, "mem error", slog.String("op", r.op()),
		slog.Int("status", resp.StatusCode), slog.String("type", api.Type), slog.Int("attempts", r.attempts))
	return terr
}

// decodeBody decodes a 2xx body into out, and fills res's request id from
// the body when the headers had none.
func decodeBody(r *request, resp *http.Response, res *Response, out any) error {
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("memclient: %s: reading the response: %w", r.op(), err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("memclient: %s: decoding the response: %w", r.op(), err)
	}
	if res.RequestID == "" {
		var rid struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(raw, &rid) == nil {
			res.RequestID = rid.RequestID
		}
	}
	return nil
}

// response builds the Response for resp (nil when resp is nil) and records
// its rate status as the client's latest.
func (c *Client) response(resp *http.Response, r *request) *Response {
	if resp == nil {
		return nil
	}
	st, _ := headers.Parse(resp.Header)
	if st.Present() {
		c.lastRate.Store(&st)
	}
	return &Response{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"), Rate: st, Attempts: r.attempts}
}

// transportError gives errors that are not responses their final form:
// typed errors pass through, the throttle's deadline refusal becomes a
// *RateLimitError, anything else is wrapped with the operation.
func (c *Client) transportError(r *request, err error) error {
	var (
		rl *RateLimitError
		ou *OutcomeUnknownError
		ve *ValidationError
		de *throttle.DeadlineError
	)
	switch {
	case errors.As(err, &rl), errors.As(err, &ou), errors.As(err, &ve):
		return err
	case errors.As(err, &de):
		return &RateLimitError{RetryAfter: de.Wait, RetryAt: time.Now().Add(de.Wait), Err: err}
	}
	return fmt.Errorf("memclient: %s: %w", r.op(), shortURLError(err))
}

// cursorShown is how many characters of a page cursor an error shows.
const cursorShown = 12

// shortURLError returns err with the URL in its text shortened by shortURL
// when err is a *url.Error (as http.Client.Do returns), else err itself.
// The copy is a *url.Error too, with the same Op and cause (errors.Is sees
// no change); only its URL field is shortened.
func shortURLError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	if s := shortURL(ue.URL); s != ue.URL {
		return &url.Error{Op: ue.Op, URL: s, Err: ue.Err}
	}
	return err
}

// shortURL cuts a request URL's page cursor (the page parameter, a long
// opaque token) to its first cursorShown characters and an ellipsis, so
// that an error about a list call stays readable.
func shortURL(raw string) string {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		if v, ok := strings.CutPrefix(p, "page="); ok && len(v) > cursorShown+1 {
			params[i] = "page=" + v[:cursorShown] + "…"
		}
	}
	return base + "?" + strings.Join(params, "&")
}

// readBody replaces resp.Body by an in-memory copy of (at most
// maxErrorBody+1 bytes of) it and returns the bytes, so that the body can be
// inspected and still be read later.
func readBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// uuidArg is a path parameter that must be a UUID.
type uuidArg struct{ field, value string }

// validIDs checks path parameters that must be UUIDs, in order, and returns
// the first problem as a *ValidationError, or nil.
func validIDs(args ...uuidArg) error {
	var v validator
	for _, a := range args {
		v.uuid(a.field, a.value)
	}
	return v.result()
}

// simple makes a call whose 200 body carries nothing but a request id,
// after checking its path parameters.
func (c *Client) simple(ctx context.Context, method, path string, body any, args ...uuidArg) (*Response, error) {
	if err := validIDs(args...); err != nil {
		return nil, err
	}
	return c.do(ctx, &request{method: method, path: path, body: body}, nil)
}

// idempotentDelete deletes the resource at path. When an attempt's outcome
// was unknown and a later attempt finds the resource gone, the earlier
// attempt deleted it: that is success.
func (c *Client) idempotentDelete(ctx context.Context, field, id, path string) (*Response, error) {
	if err := validIDs(uuidArg{field, id}); err != nil {
		return nil, err
	}
	r := &request{method: http.MethodDelete, path: path}
	resp, err := c.do(ctx, r, nil)
	var nf *NotFoundError
	if err != nil && r.ambiguous && errors.As(err, &nf) {
		c.log.DebugContext(ctx, "mem delete resolved: an earlier attempt deleted it", "path", path)
		return resp, nil
	}
	return resp, err
}

// apiError decodes an error response and scrubs the API key from it, in
// case a server echoes the credentials it was sent.
func (c *Client) apiError(r *request, resp *http.Response, body []byte) *APIError {
	api := decodeAPIError(r.method, r.path, resp, body)
	k := c.key()
	if len(k) < minScrubLen {
		return api // too short to scrub without mangling text (test keys)
	}
	api.Message = strings.ReplaceAll(api.Message, k, redacted)
	api.RequestID = strings.ReplaceAll(api.RequestID, k, redacted)
	api.Body = bytes.ReplaceAll(api.Body, []byte(k), []byte(redacted))
	scrubMap(api.Details, k)
	return api
}

// minScrubLen is the shortest key scrubbed from error responses.
const minScrubLen = 8

// scrubMap replaces k in every string of a decoded JSON object, recursively.
func scrubMap(m map[string]any, k string) {
	for name, v := range m {
		m[name] = scrubValue(v, k)
	}
}

func scrubValue(v any, k string) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, k, redacted)
	case map[string]any:
		scrubMap(v, k)
	case []any:
		for i := range v {
			v[i] = scrubValue(v[i], k)
		}
	}
	return v
}
