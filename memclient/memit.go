package memclient

import (
	"context"
	"net/http"
	"time"
)

// MemItRequest is the body of Client.MemIt.
type MemItRequest struct {
	// Input is the content to capture (required, non-empty): at most
	// MaxMemItInput characters (about 1 MB).
	Input string `json:"input"`
	// Instructions tell Mem how to process Input (optional, at most
	// MaxMemItInstructions characters).
	Instructions string `json:"instructions,omitempty"`
	// Context is background for the processing (optional, at most
	// MaxMemItInstructions characters).
	Context string `json:"context,omitempty"`
	// Timestamp is when the content was captured; zero means now. Not in
	// the future.
	Timestamp time.Time `json:"timestamp,omitzero"`

	// AtLeastOnce lets the client retry after a failure whose outcome is
	// unknown (a reset connection, a lost response, a 5xx). mem-it has no
	// id, so such a retry can capture the content twice. Without it, such
	// a failure returns an *OutcomeUnknownError. Not sent to the server.
	AtLeastOnce bool `json:"-"`
}

// Validate checks req as MemIt does before sending it: Input is required,
// and Input, Instructions and Context must be valid UTF-8 within their
// character limits (MaxMemItInput, MaxMemItInstructions); Timestamp, when
// set, may not be in the future. It returns the *ValidationError MemIt
// would return for req (a nil req included), or nil. It sends nothing and
// spends no rate budget; MemIt runs the same check, so a request that
// passes is refused only by the server.
func (req *MemItRequest) Validate() error {
	if req == nil {
		return errNilRequest()
	}
	var v validator
	v.required("input", req.Input)
	v.size("input", req.Input, MaxMemItInput, 0)
	v.size("instructions", req.Instructions, MaxMemItInstructions, 0)
	v.size("context", req.Context, MaxMemItInstructions, 0)
	v.timestamp("timestamp", req.Timestamp)
	return v.result()
}

// MemItResult is the answer to Client.MemIt: processing is asynchronous, so
// it carries only the request's id.
type MemItResult struct {
	// RequestID is Mem's id for the request (request_id, e.g.
	// "api-request-…"): quote it to Mem's support.
	RequestID string `json:"request_id"`
}

// MemIt sends content to Mem for processing into notes (POST /v2/mem-it).
// It is the expensive call: 1 request token and 40 complexity tokens per
// attempt, so from full buckets 5 go at once and then one every 12 s (and
// about 200 a day); the throttle queues it fairly with cheaper calls. It
// counts against the plan's note quota.
//
// mem-it has no idempotency key: it is retried only when the request
// provably did not reach the server (a rate-limit 429, a refused
// connection). Any other failure after sending returns an
// *OutcomeUnknownError, unless req.AtLeastOnce is set.
//
// A rate-limit 429 is waited for only while its Retry-After is within the
// client's max retry wait (WithMaxRetryWait, DefaultMaxRetryWait = 2
// minutes by default), however long the context's deadline: a 429 from a
// day window, whose Retry-After runs to minutes or hours, fails at once
// with a *RateLimitError that says when to try again. Raise the max retry
// wait to wait it out.
func (c *Client) MemIt(ctx context.Context, req *MemItRequest) (*MemItResult, *Response, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	r := &request{method: http.MethodPost, path: "/v2/mem-it", body: req, class: retryMemIt, atLeastOnce: req.AtLeastOnce}
	var res MemItResult
	resp, err := c.do(ctx, r, &res)
	if err != nil {
		return nil, resp, err
	}
	return &res, resp, nil
}
