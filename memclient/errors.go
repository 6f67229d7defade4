package memclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Error types the Mem API (and this project's mock) sends in
// {"error":{"type":…}}. Branch on these (or on the typed errors below),
// never on messages.
const (
	ErrTypeInvalidRequest    = "invalid_request"
	ErrTypeUnauthorized      = "unauthorized"
	ErrTypeNotFound          = "not_found"
	ErrTypeConflict          = "conflict"
	ErrTypeValidation        = "validation_error"
	ErrTypeRateLimitExceeded = "rate_limit_exceeded"
	ErrTypeQuotaExceeded     = "quota_exceeded"
	ErrTypeInternal          = "internal_error"
)

// ErrUnauthorized matches, with errors.Is, the error of a call the server
// refused with 401 Unauthorized: the API key is missing, unknown or
// revoked. Such a call is not retried. The error itself is an *APIError
// (errors.As gives its Type and Message); ErrUnauthorized is only a target
// for errors.Is, never returned as such.
var ErrUnauthorized = errors.New("memclient: unauthorized (401): the API key is missing, unknown or revoked")

// APIError is an error response from the server. It decodes both of Mem's
// envelopes: {"error":{"type","message","details"}} and
// {"error_category","error_metadata":{"error_kind","message","request_id"}}
// (for the latter, Type is error_kind and Category error_category). When the
// body is neither, Type is empty and Body keeps it (bounded to 64 KiB).
//
// The more specific errors (NotFoundError, ConflictError, ValidationError,
// RateLimitError, QuotaExceededError) wrap an *APIError, so errors.As finds
// it through any of them.
type APIError struct {
	// StatusCode is the response's HTTP status, e.g. 404 or 429.
	StatusCode int
	Method     string // of the request
	Path       string // of the request (no query, no host)
	Type       string // error.type, or error_metadata.error_kind
	Category   string // error_category (second envelope only)
	// Message is the server's human-readable explanation (error.message or
	// error_metadata.message); for display, not for branching.
	Message string
	// Details is the error.details object as decoded JSON (numbers are
	// float64), with the quota envelope's upgrade_info added under the key
	// "upgrade_info"; nil when the server sent none.
	Details   map[string]any
	RequestID string // from the body, else the X-Request-Id header
	// Body is the raw body when it decoded as neither envelope.
	Body []byte
	// Rate is the rate status the response reported (zero when absent).
	Rate headers.Status
}

// Error describes the failure; it never contains the API key.
func (e *APIError) Error() string { return errorPrefix + e.detail() }

// Is reports whether target is ErrUnauthorized and e a 401, so that
// errors.Is(err, ErrUnauthorized) detects a refused API key whichever of
// Mem's envelopes the body used.
func (e *APIError) Is(target error) bool {
	return target == ErrUnauthorized && e.StatusCode == http.StatusUnauthorized
}

// errorPrefix starts the text of every error of this package.
const errorPrefix = "memclient: "

// quote returns err's text for an error of this package that quotes it:
// without the prefix, which the quoting error's own text already has.
func quote(err error) string { return strings.TrimPrefix(err.Error(), errorPrefix) }

// detail is Error without the package prefix.
func (e *APIError) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	} else if e.Type == "" && len(e.Body) > 0 {
		body := string(e.Body)
		if len(body) > 200 {
			body = body[:200] + "…"
		}
		fmt.Fprintf(&b, ": %q", body)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

const maxErrorBody = 64 << 10

// decodeAPIError builds an *APIError from a response whose body has been
// read into body.
func decodeAPIError(method, path string, resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Method: method, Path: path}
	e.Rate, _ = headers.Parse(resp.Header)
	var env struct {
		Error *struct {
			Type    string         `json:"type"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
			// UpgradeInfo is kept in Details["upgrade_info"].
			UpgradeInfo map[string]any `json:"upgrade_info"`
		} `json:"error"`
		RequestID     *string `json:"request_id"`
		ErrorCategory string  `json:"error_category"`
		ErrorMetadata *struct {
			ErrorKind string  `json:"error_kind"`
			Message   string  `json:"message"`
			RequestID *string `json:"request_id"`
		} `json:"error_metadata"`
	}
	decoded := false
	if json.Unmarshal(body, &env) == nil {
		switch {
		case env.Error != nil && env.Error.Type != "":
			e.Type, e.Message, e.Details = env.Error.Type, env.Error.Message, env.Error.Details
			if env.Error.UpgradeInfo != nil {
				if e.Details == nil {
					e.Details = map[string]any{}
				}
				e.Details["upgrade_info"] = env.Error.UpgradeInfo
			}
			if env.RequestID != nil {
				e.RequestID = *env.RequestID
			}
			decoded = true
		case env.ErrorMetadata != nil && (env.ErrorMetadata.ErrorKind != "" || env.ErrorCategory != ""):
			e.Type, e.Category, e.Message = env.ErrorMetadata.ErrorKind, env.ErrorCategory, env.ErrorMetadata.Message
			if env.ErrorMetadata.RequestID != nil {
				e.RequestID = *env.ErrorMetadata.RequestID
			}
			decoded = true
		}
	}
	if !decoded {
		if len(body) > maxErrorBody {
			body = body[:maxErrorBody]
		}
		e.Body = append([]byte(nil), body...)
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	return e
}

// NotFoundError is a 404: the note, collection or search snapshot does not
// exist (or the key cannot see it).
type NotFoundError struct {
	// API is the 404 response.
	API *APIError
}

// Error returns the *APIError's description.
func (e *NotFoundError) Error() string { return e.API.Error() }

// Unwrap returns the *APIError.
func (e *NotFoundError) Unwrap() error { return e.API }

// Conflict reasons found in ConflictError.Reason.
const (
	ReasonVersionConflict = "version_conflict" // PATCH with a stale version
	ReasonTrashed         = "trashed"          // the note is in the trash
	ReasonDuplicateID     = "duplicate_id"     // create with an id that exists
	ReasonNotInSource     = "not_in_source"    // move of a note not in the source collection
)

// ConflictError is a 409: a create with an id that already exists, an
// update based on a stale version, or a change to a trashed note.
type ConflictError struct {
	// API is the 409 response.
	API *APIError
	// Reason is one of the Reason* constants, or "" when the server said
	// nothing more specific.
	Reason string
	// CurrentVersion is the note's version when the server reported it
	// (stale version only), else 0.
	CurrentVersion int64
}

// Error returns the *APIError's description.
func (e *ConflictError) Error() string { return e.API.Error() }

// Unwrap returns the *APIError.
func (e *ConflictError) Unwrap() error { return e.API }

// ValidationError is a request the client refused before sending it (API is
// nil: nothing was sent and no rate budget was spent), or one the server
// refused as invalid (400 or 422; API is set).
type ValidationError struct {
	Field string // the offending field, e.g. "content", when known
	// Problem says what is wrong with Field, e.g. "is required"; for a
	// server's refusal it is the server's message (API.Message).
	Problem string
	// API is the server's 400 or 422 response; nil when the client refused
	// the request before sending it.
	API *APIError
}

// Error names the field and the problem (or describes the server's refusal).
func (e *ValidationError) Error() string {
	if e.API != nil {
		return e.API.Error()
	}
	if e.Field == "" {
		return "memclient: invalid request: " + e.Problem
	}
	return "memclient: invalid " + e.Field + ": " + e.Problem
}

// Unwrap returns the *APIError, if any.
func (e *ValidationError) Unwrap() error {
	if e.API == nil {
		return nil
	}
	return e.API
}

// RateLimitError says a call could not be made within the rate limits in
// time: the server answered 429 rate_limit_exceeded and retries ran out or
// the wait would pass the context's deadline or the client's max retry wait,
// or the throttle refused to wait past the deadline (API is nil then, and
// the error unwraps to the *throttle.DeadlineError and so to
// context.DeadlineExceeded). Nothing was processed by the server: the call is
// safe to repeat after RetryAfter.
type RateLimitError struct {
	API *APIError // the 429 response, or nil for a local refusal
	// RetryAfter is how long to wait before trying again (from Retry-After
	// or from the throttle's estimate).
	RetryAfter time.Duration
	// RetryAt is the moment RetryAfter ends, on the local clock.
	RetryAt time.Time
	Err     error // the throttle's error, for a local refusal
}

// Error says when to retry and what refused the call.
func (e *RateLimitError) Error() string {
	s := fmt.Sprintf("memclient: rate limited; retry after %s", e.RetryAfter.Round(time.Millisecond))
	switch {
	case e.API != nil:
		return s + ": " + e.API.detail()
	case e.Err != nil:
		return s + ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the *APIError and the throttle's error, whichever are set.
func (e *RateLimitError) Unwrap() []error {
	var errs []error
	if e.API != nil {
		errs = append(errs, e.API)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// QuotaExceededError is a 429 quota_exceeded: the plan's allowance of note
// creations (POST /v2/mem-it, POST /v2/notes) is spent. It is not a rate
// limit: the client never sleeps on it and never retries it.
//
// Its fields come from the body's error.details (wire names in
// parentheses) and upgrade_info objects.
type QuotaExceededError struct {
	// API is the 429 response.
	API *APIError
	// Plan is the account's current plan (current_plan).
	Plan string
	// Used is how much of the quota has been used (used).
	Used int64
	// FreeUsed is how much of the free allowance has been used (free_used).
	FreeUsed int64
	// Limit is the quota (limit); nil when the server sent null or none,
	// which is not a limit of 0. Print *Limit after a nil check (the field
	// itself prints as an address); Error shows it.
	Limit *int64
	// FreeLimit is the free allowance (free_limit); nil when the server
	// sent null or none. Print *FreeLimit after a nil check.
	FreeLimit *int64
	// ResetTime is when the quota resets: reset_time, else now plus
	// RetryAfter; zero when neither could be read.
	ResetTime  time.Time
	RetryAfter time.Duration // from Retry-After (can be hours or days)
	// UpgradeMessage is the server's advice on raising the quota
	// (upgrade_info.message).
	UpgradeMessage string
	// UpgradeURL is where the plan can be upgraded (upgrade_info.upgrade_url).
	UpgradeURL string
}

// Error names the plan, the usage against the limit (when the server sent
// a limit) and the reset time.
func (e *QuotaExceededError) Error() string {
	var about []string
	if e.Plan != "" {
		about = append(about, "plan "+e.Plan)
	}
	if e.Limit != nil {
		about = append(about, fmt.Sprintf("used %d of %d", e.Used, *e.Limit))
	}
	s := "memclient: usage quota exceeded"
	if len(about) > 0 {
		s += " (" + strings.Join(about, ", ") + ")"
	}
	if !e.ResetTime.IsZero() {
		s += "; resets at " + e.ResetTime.UTC().Format(time.RFC3339)
	}
	return s + ": " + e.API.detail()
}

// Unwrap returns the *APIError.
func (e *QuotaExceededError) Unwrap() error { return e.API }

// OutcomeUnknownError says a write may or may not have been processed: a
// request may have reached the server (a connection reset, a lost response,
// a 5xx, or a context that ended while the request was in flight) and the
// client could not find out. A context that ends while the call still
// waits for tokens returns the context's error instead: nothing was sent.
//
// For mem-it, which has no id that would make a retry safe, it is returned
// at the first such failure: check your notes before sending the content
// again, or set MemItRequest.AtLeastOnce to retry anyway (possibly capturing
// twice). For a create, it is returned when the retries ran out after such a
// failure; ID is the id the note or collection has if it was created: Get it
// to find out (a Create again with that ID is refused with a
// *ConflictError, Reason ReasonDuplicateID, if it was created).
type OutcomeUnknownError struct {
	Op  string // e.g. "POST /v2/mem-it"
	ID  string // for a create, the id sent; else ""
	Err error  // what happened to the last attempt
}

// Error says the outcome is unknown, and why.
func (e *OutcomeUnknownError) Error() string {
	s := "memclient: " + e.Op
	if e.ID != "" {
		s += " (id " + e.ID + ")"
	}
	cause := strings.TrimPrefix(quote(e.Err), e.Op+": ") // the op is named once
	return s + ": outcome unknown (the request may have been processed): " + cause
}

// Unwrap returns the attempt's error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// typedError turns an error response into the most specific error type.
func typedError(api *APIError, resp *http.Response, now time.Time) error {
	switch {
	case api.StatusCode == http.StatusNotFound:
		return &NotFoundError{API: api}
	case api.StatusCode == http.StatusConflict:
		ce := &ConflictError{API: api}
		if r, ok := api.Details["reason"].(string); ok {
			ce.Reason = r
		} else if api.Method == http.MethodPost && (api.Path == "/v2/notes" || api.Path == "/v2/collections") {
			// A create has one way to conflict (and Mem names no reason):
			// the id exists.
			ce.Reason = ReasonDuplicateID
		}
		if v, ok := api.Details["current_version"].(float64); ok {
			ce.CurrentVersion = int64(v)
		}
		return ce
	case api.StatusCode == http.StatusUnprocessableEntity, api.StatusCode == http.StatusBadRequest,
		api.Type == ErrTypeValidation:
		field, _ := api.Details["field"].(string)
		return &ValidationError{Field: field, Problem: api.Message, API: api}
	case api.StatusCode == http.StatusTooManyRequests && api.Type == ErrTypeQuotaExceeded:
		return quotaError(api, resp, now)
	case api.StatusCode == http.StatusTooManyRequests:
		wait, _, _ := headers.ParseRetryAfter(resp.Header, now)
		return &RateLimitError{API: api, RetryAfter: wait, RetryAt: now.Add(wait)}
	}
	return api
}

func quotaError(api *APIError, resp *http.Response, now time.Time) *QuotaExceededError {
	q := &QuotaExceededError{API: api}
	d := api.Details
	q.Plan, _ = d["current_plan"].(string)
	num := func(k string) (int64, bool) {
		v, ok := d[k].(float64)
		return int64(v), ok
	}
	q.Used, _ = num("used")
	q.FreeUsed, _ = num("free_used")
	if v, ok := num("limit"); ok {
		q.Limit = &v
	}
	if v, ok := num("free_limit"); ok {
		q.FreeLimit = &v
	}
	if s, ok := d["reset_time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			q.ResetTime = t
		}
	}
	if ui, ok := d["upgrade_info"].(map[string]any); ok {
		q.UpgradeMessage, _ = ui["message"].(string)
		q.UpgradeURL, _ = ui["upgrade_url"].(string)
	}
	q.RetryAfter, _, _ = headers.ParseRetryAfter(resp.Header, now)
	if q.ResetTime.IsZero() && q.RetryAfter > 0 {
		q.ResetTime = now.Add(q.RetryAfter)
	}
	return q
}
