package mock

import (
	"fmt"
	"net/http"
)

// Error types the mock sends in {"error":{"type":...}}. Clients branch on
// these, never on the message.
const (
	ErrTypeInvalidRequest    = "invalid_request"     // 400: malformed JSON, bad cursor
	ErrTypeUnauthorized      = "unauthorized"        // 401: missing or unknown key
	ErrTypeNotFound          = "not_found"           // 404: unknown note, collection or route
	ErrTypeMethodNotAllowed  = "method_not_allowed"  // 405
	ErrTypeConflict          = "conflict"            // 409: duplicate id, stale version, trashed note
	ErrTypePayloadTooLarge   = "payload_too_large"   // 413
	ErrTypeValidation        = "validation_error"    // 422: wrong types, bounds, timestamps
	ErrTypeRateLimitExceeded = "rate_limit_exceeded" // 429: a bucket is short
	ErrTypeQuotaExceeded     = "quota_exceeded"      // 429: the usage quota is spent
	ErrTypeInternal          = "internal_error"      // 5xx (injected)
)

// apiError is an error response: the envelope
// {"error":{"type","message","details"}} with an HTTP status.
type apiError struct {
	status  int
	typ     string
	message string
	details map[string]any
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.typ, e.message) }

func errorf(status int, typ, format string, args ...any) *apiError {
	return &apiError{status: status, typ: typ, message: fmt.Sprintf(format, args...), details: map[string]any{}}
}

func (e *apiError) with(k string, v any) *apiError {
	e.details[k] = v
	return e
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, ErrTypeInvalidRequest, format, args...)
}

func invalid(field, format string, args ...any) *apiError {
	return errorf(http.StatusUnprocessableEntity, ErrTypeValidation, format, args...).with("field", field)
}

func notFound(what, id string) *apiError {
	return errorf(http.StatusNotFound, ErrTypeNotFound, "%s not found", what).with("id", id)
}

func conflict(format string, args ...any) *apiError {
	return errorf(http.StatusConflict, ErrTypeConflict, format, args...)
}

// envelope is the JSON body of an error.
type envelope struct {
	Error     envelopeBody `json:"error"`
	RequestID string       `json:"request_id,omitempty"`
}

type envelopeBody struct {
	Type        string         `json:"type"`
	Message     string         `json:"message"`
	Details     map[string]any `json:"details"`
	UpgradeInfo *upgradeInfo   `json:"upgrade_info,omitempty"`
}

type upgradeInfo struct {
	Message    string `json:"message"`
	UpgradeURL string `json:"upgrade_url"`
}
