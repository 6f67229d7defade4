package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// opt is an optional JSON field: set when present, null when present as null.
type opt[T any] struct {
	set, null bool
	v         T
}

// UnmarshalJSON records presence and nullness, then decodes the value.
func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.null = true
		return nil
	}
	return json.Unmarshal(b, &o.v)
}

// has reports whether the field holds a value (present and not null).
func (o opt[T]) has() bool { return o.set && !o.null }

// decodeBody decodes a JSON object body into v. An empty or malformed body is
// 400; a well-formed body of the wrong shape (types) is 422.
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the request body must be a JSON object")
	}
	body = exactKeys(body, v)
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return badRequest("malformed JSON body")
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "body"
			}
			return invalid(field, "%s: expected %s, got %s", field, te.Type, te.Value)
		default:
			return invalid("body", "invalid body: %s", truncate(err.Error(), 200))
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("unexpected data after the JSON body")
	}
	return nil
}

// exactKeys drops top-level keys that match a field of v only when case is
// ignored ("Content" for "content"): encoding/json matches names without
// regard to case, the real API (pydantic) does not, and a client must not
// pass against the mock with a field the server would ignore. A body that is
// not a JSON object is returned as is, for decoding to classify.
func exactKeys(body []byte, v any) []byte {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil || raw == nil {
		return body
	}
	known := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(v).Elem()) {
		if f.Anonymous { // an embedded struct's fields are visible on their own
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		known[name] = true
	}
	changed := false
	for k := range raw {
		if known[k] {
			continue
		}
		for name := range known {
			if strings.EqualFold(name, k) {
				delete(raw, k)
				changed = true
				break
			}
		}
	}
	if !changed {
		return body
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return body
	}
	return b
}

// required reports a missing or null required field.
func required[T any](field string, o opt[T]) *apiError {
	if !o.has() {
		return invalid(field, "%s is required", field)
	}
	return nil
}

// checkLen bounds a string in characters (code points) and, if maxBytes > 0,
// in UTF-8 bytes.
func checkLen(field, s string, maxChars, maxBytes int) *apiError {
	if n := utf8.RuneCountInString(s); n > maxChars {
		return invalid(field, "%s is %d characters; at most %d allowed", field, n, maxChars).with("max_length", maxChars)
	}
	if maxBytes > 0 && len(s) > maxBytes {
		return invalid(field, "%s is %d UTF-8 bytes; at most %d allowed", field, len(s), maxBytes).with("max_bytes", maxBytes)
	}
	return nil
}

// parseUUID validates a UUID and returns its canonical lower-case form.
func parseUUID(field, s string) (string, *apiError) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", invalid(field, "%s is not a UUID", field)
	}
	return u.String(), nil
}

// parseTime parses an RFC 3339 timestamp, which must carry an offset (Z or
// ±hh:mm). If notFuture, a time after now is refused. The result is UTC,
// truncated to milliseconds (the precision the API reports).
func parseTime(field, s string, now time.Time, notFuture bool) (time.Time, *apiError) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid(field, "%s must be an ISO 8601 date-time with a timezone offset", field)
	}
	t = t.UTC().Truncate(time.Millisecond)
	if notFuture && t.After(now) {
		return time.Time{}, invalid(field, "%s may not be in the future", field)
	}
	return t, nil
}

// optTime parses an optional timestamp field; ok is false when absent/null.
func optTime(field string, o opt[string], now time.Time) (t time.Time, ok bool, e *apiError) {
	if !o.has() {
		return time.Time{}, false, nil
	}
	t, e = parseTime(field, o.v, now, true)
	return t, e == nil, e
}

// fmtTime formats a time as the API does: UTC, milliseconds, Z.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func fmtTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := fmtTime(t)
	return &s
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, *apiError) {
	v, ok := q[name]
	if !ok || v[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return 0, invalid(name, "%s must be an integer", name)
	}
	if n < lo || n > hi {
		return 0, invalid(name, "%s must be between %d and %d", name, lo, hi)
	}
	return n, nil
}

// boolParam reads a boolean query parameter.
func boolParam(q url.Values, name string) (bool, *apiError) {
	v, ok := q[name]
	if !ok || v[0] == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, invalid(name, "%s must be true or false", name)
	}
	return b, nil
}

// timeRange is an inclusive date filter on created_at and updated_at.
type timeRange struct {
	createdAfter, createdBefore, updatedAfter, updatedBefore time.Time
}

func (tr *timeRange) admits(created, updated time.Time) bool {
	return (tr.createdAfter.IsZero() || !created.Before(tr.createdAfter)) &&
		(tr.createdBefore.IsZero() || !created.After(tr.createdBefore)) &&
		(tr.updatedAfter.IsZero() || !updated.Before(tr.updatedAfter)) &&
		(tr.updatedBefore.IsZero() || !updated.After(tr.updatedBefore))
}

// parseRange reads the four filter_by_* bounds through get (query or body).
// Filters may lie in the future; only their format is checked.
func parseRange(get func(name string) (string, bool)) (timeRange, *apiError) {
	var tr timeRange
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{
		{"filter_by_created_after", &tr.createdAfter},
		{"filter_by_created_before", &tr.createdBefore},
		{"filter_by_updated_after", &tr.updatedAfter},
		{"filter_by_updated_before", &tr.updatedBefore},
	} {
		s, ok := get(f.name)
		if !ok {
			continue
		}
		t, e := parseTime(f.name, s, time.Time{}, false)
		if e != nil {
			return tr, e
		}
		*f.dst = t
	}
	return tr, nil
}

func queryGetter(q url.Values) func(string) (string, bool) {
	return func(n string) (string, bool) {
		v, ok := q[n]
		if !ok || v[0] == "" {
			return "", false
		}
		return v[0], true
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// truncateRunes returns at most n code points of s.
func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
