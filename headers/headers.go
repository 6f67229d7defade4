// Package headers is the wire contract of Mem's rate limits: it parses and
// writes the X-RateLimit-*, X-Complexity-* and Retry-After response headers.
//
// It is pure: no I/O and no clock of its own (callers pass now). The throttle
// uses it to read what the server says and the mock uses it to say it, so
// the format is defined once.
//
// Each limit type (requests, complexity) is reported by four headers that
// describe its most constrained window:
//
//	X-RateLimit-Bucket     minute | day
//	X-RateLimit-Limit      capacity of that window (tokens)
//	X-RateLimit-Remaining  tokens left in that window
//	X-RateLimit-Reset      seconds (integer or decimal) until it is full again
//
// and the same four with the X-Complexity- prefix.
package headers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is a limit type: requests or complexity tokens.
type Kind int

const (
	// Requests counts calls: every call costs one request token.
	Requests Kind = iota
	// Complexity counts complexity tokens: 1 for most calls, 40 for mem-it.
	Complexity
)

// String returns "requests" or "complexity".
func (k Kind) String() string {
	switch k {
	case Requests:
		return "requests"
	case Complexity:
		return "complexity"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Header names, in canonical form.
const (
	RateLimitBucket     = "X-Ratelimit-Bucket"
	RateLimitLimit      = "X-Ratelimit-Limit"
	RateLimitRemaining  = "X-Ratelimit-Remaining"
	RateLimitReset      = "X-Ratelimit-Reset"
	ComplexityBucket    = "X-Complexity-Bucket"
	ComplexityLimit     = "X-Complexity-Limit"
	ComplexityRemaining = "X-Complexity-Remaining"
	ComplexityReset     = "X-Complexity-Reset"
	RetryAfter          = "Retry-After"
)

// maxHeaderValueLength bounds the value an *Error keeps.
const maxHeaderValueLength = 64

// Window names a bucket's refill window as it appears in the Bucket header.
type Window string

const (
	// Minute is the per-minute window.
	Minute Window = "minute"
	// Day is the per-day window.
	Day Window = "day"
)

// MaxReset bounds the Reset header: a day window is full again within a day,
// so anything far beyond is an error, not a wait. It leaves room for
// configured windows longer than Mem's.
const MaxReset = 400 * 24 * time.Hour

// MaxRetryAfter bounds Retry-After. A quota 429 may ask for days (a monthly
// allowance), so the cap is generous; past it the value is refused rather than
// obeyed.
const MaxRetryAfter = 400 * 24 * time.Hour

// WindowState is what one set of four headers says about one window.
// The zero value means "absent": the response did not report this kind.
type WindowState struct {
	// Window is the window the server found most constrained.
	Window Window
	// Limit is the window's capacity in tokens.
	Limit int64
	// Remaining is how many tokens the window holds now.
	Remaining int64
	// Reset is how long until the window is full again (a hint: clients
	// resynchronise from Remaining).
	Reset time.Duration
}

// Present reports whether the response carried this kind's headers.
func (w WindowState) Present() bool { return w.Window != "" }

// Status is the full rate status of one response: one WindowState per kind,
// each possibly absent.
type Status struct {
	Requests   WindowState // from the X-RateLimit-* headers
	Complexity WindowState // from the X-Complexity-* headers
}

// Of returns the state reported for kind k.
func (s Status) Of(k Kind) WindowState {
	if k == Complexity {
		return s.Complexity
	}
	return s.Requests
}

// Present reports whether any kind was reported.
func (s Status) Present() bool { return s.Requests.Present() || s.Complexity.Present() }

// Error is a malformed or contradictory header value. It names the header and
// keeps (a bounded prefix of) the value that was refused.
type Error struct {
	Header string // canonical header name
	Value  string // the value, truncated to at most 64 bytes (on a rune boundary)
	Err    error  // what is wrong: one of the Err* values, possibly wrapped
}

// Error names the header, the refused value and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("headers: %s: %q: %v", e.Header, e.Value, e.Err)
}

// Unwrap returns the reason, one of the Err* values.
func (e *Error) Unwrap() error { return e.Err }

// Reasons a header value is refused; match them with errors.Is.
var (
	ErrMissing       = errors.New("missing (the other headers of its kind are present)")
	ErrMalformed     = errors.New("not a number")
	ErrNegative      = errors.New("negative")
	ErrOutOfRange    = errors.New("out of range")
	ErrUnknownBucket = errors.New("unknown bucket name")
	ErrContradiction = errors.New("remaining exceeds limit")
)

func headerError(name, value string, err error) *Error {
	if len(value) > maxHeaderValueLength {
		// Cut on a rune boundary so the kept prefix stays valid UTF-8
		// when the value was (backing off at most UTFMax-1 bytes, so
		// invalid input still keeps most of its prefix).
		n := maxHeaderValueLength
		for n > maxHeaderValueLength-utf8.UTFMax+1 && !utf8.RuneStart(value[n]) {
			n--
		}
		value = value[:n]
	}
	return &Error{Header: name, Value: value, Err: err}
}

// Parse reads the eight rate-limit headers. A kind whose four headers are all
// absent is reported absent, without error. A kind with some but not all of
// them, or with a value that is malformed, negative, overflowing or
// contradictory, is reported absent and its problems are returned as *Error
// values joined with errors.Join; the other kind is still parsed.
func Parse(h http.Header) (Status, error) {
	var s Status
	req, errReq := parseKind(h, Requests)
	cpx, errCpx := parseKind(h, Complexity)
	if errReq == nil {
		s.Requests = req
	}
	if errCpx == nil {
		s.Complexity = cpx
	}
	if errReq != nil || errCpx != nil {
		return s, errors.Join(errReq, errCpx)
	}
	return s, nil
}

// kindHeaders are each kind's four header names, canonical, in the order
// Bucket, Limit, Remaining, Reset: computed once, not per response.
var kindHeaders = [2][4]string{
	{RateLimitBucket, RateLimitLimit, RateLimitRemaining, RateLimitReset},
	{ComplexityBucket, ComplexityLimit, ComplexityRemaining, ComplexityReset},
}

func parseKind(h http.Header, k Kind) (WindowState, error) {
	names := kindHeaders[k]
	var vals [4]string
	var seen int
	for i, n := range names {
		if v := h[n]; len(v) > 0 {
			vals[i] = strings.TrimSpace(v[0])
			seen++
		}
	}
	if seen == 0 {
		return WindowState{}, nil
	}
	var errs []error
	for i, n := range names {
		if h[n] == nil {
			errs = append(errs, headerError(n, "", ErrMissing))
			vals[i] = ""
		}
	}
	if len(errs) > 0 {
		return WindowState{}, errors.Join(errs...)
	}

	var w WindowState
	switch Window(strings.ToLower(vals[0])) {
	case Minute:
		w.Window = Minute
	case Day:
		w.Window = Day
	default:
		errs = append(errs, headerError(names[0], vals[0], ErrUnknownBucket))
	}
	var err error
	if w.Limit, err = parseCount(vals[1]); err != nil {
		errs = append(errs, headerError(names[1], vals[1], err))
	}
	if w.Remaining, err = parseCount(vals[2]); err != nil {
		errs = append(errs, headerError(names[2], vals[2], err))
	}
	if w.Reset, err = parseSeconds(vals[3], MaxReset); err != nil {
		errs = append(errs, headerError(names[3], vals[3], err))
	}
	if len(errs) == 0 && w.Remaining > w.Limit {
		errs = append(errs, headerError(names[2], vals[2], ErrContradiction))
	}
	if len(errs) > 0 {
		return WindowState{}, errors.Join(errs...)
	}
	return w, nil
}

// maxCount bounds token counts so that sums of a few of them cannot overflow.
const maxCount = 1 << 40

// parseCount parses a non-negative decimal integer token count.
func parseCount(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, ErrOutOfRange
		}
		return 0, ErrMalformed
	}
	if n < 0 {
		return 0, ErrNegative
	}
	if n > maxCount {
		return 0, ErrOutOfRange
	}
	return n, nil
}

// parseSeconds parses a non-negative number of seconds, integer or decimal,
// no greater than limit. NaN, infinities and hex floats are refused.
func parseSeconds(v string, limit time.Duration) (time.Duration, error) {
	// Hex floats, NaN, Inf, and digit-separating underscores (which
	// strconv.ParseFloat accepts, "1_0" being 10) are not decimal seconds.
	if v == "" || strings.ContainsAny(v, "xXpPnN_") {
		return 0, ErrMalformed
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, ErrOutOfRange
		}
		return 0, ErrMalformed
	}
	if math.Signbit(f) && f != 0 {
		return 0, ErrNegative
	}
	if f > limit.Seconds() {
		return 0, ErrOutOfRange
	}
	return time.Duration(math.Ceil(f * float64(time.Second))), nil
}

// ParseRetryAfter reads the Retry-After header, in either RFC 9110 form:
// delta-seconds (a decimal fraction is tolerated) or an HTTP-date, in any of
// the three formats http.ParseTime accepts, taken relative to now. A date in
// the past gives 0. present is false when the header is absent. A malformed,
// negative or overlong (beyond MaxRetryAfter) value gives an *Error and no
// wait.
func ParseRetryAfter(h http.Header, now time.Time) (wait time.Duration, present bool, err error) {
	vs := h[RetryAfter]
	if len(vs) == 0 {
		return 0, false, nil
	}
	v := strings.TrimSpace(vs[0])
	if v != "" && (v[0] >= '0' && v[0] <= '9' || v[0] == '-' || v[0] == '+' || v[0] == '.') {
		d, err := parseSeconds(v, MaxRetryAfter)
		if err != nil {
			return 0, true, headerError(RetryAfter, v, err)
		}
		return d, true, nil
	}
	t, perr := http.ParseTime(v)
	if perr != nil {
		return 0, true, headerError(RetryAfter, v, ErrMalformed)
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true, nil
	}
	if d > MaxRetryAfter {
		return 0, true, headerError(RetryAfter, v, ErrOutOfRange)
	}
	return d, true, nil
}

// Write sets the headers of every kind present in s, replacing any there.
// Reset is written as whole seconds, rounded up, so a client that waits that
// long never arrives early. Absent kinds are left untouched.
func (s Status) Write(h http.Header) {
	for _, k := range [2]Kind{Requests, Complexity} {
		w := s.Of(k)
		if !w.Present() {
			continue
		}
		names := kindHeaders[k]
		h.Set(names[0], string(w.Window))
		h.Set(names[1], strconv.FormatInt(w.Limit, 10))
		h.Set(names[2], strconv.FormatInt(w.Remaining, 10))
		h.Set(names[3], strconv.FormatInt(ceilSeconds(w.Reset), 10))
	}
}

// SetRetryAfter writes Retry-After as delta-seconds: d rounded up to whole
// seconds, and at least 1 (a 429 always asks for some wait).
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set(RetryAfter, strconv.FormatInt(max(1, ceilSeconds(d)), 10))
}

// SetRetryAfterDate writes Retry-After as an HTTP-date: now+d rounded up to
// the next whole second (the format has no fractions), in IMF-fixdate form.
func SetRetryAfterDate(h http.Header, now time.Time, d time.Duration) {
	at := now.Add(d)
	if t := at.Truncate(time.Second); !t.Equal(at) {
		at = t.Add(time.Second)
	}
	h.Set(RetryAfter, at.UTC().Format(http.TimeFormat))
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	// Not (d + time.Second - 1) / time.Second: that overflows for d within
	// a second of the largest Duration and gives a negative count.
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}
