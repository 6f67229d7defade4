package mock

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Faults are injected into responses to authenticated API calls, at random
// (from Config.Seed, so a run that sends the same requests in the same order
// sees the same faults) and on demand (see Server.FailNext). The zero value
// injects nothing.
type Faults struct {
	// Latency delays every call before it reaches the meter (the uplink);
	// LatencyJitter adds a uniform random [0, LatencyJitter) on top. The
	// wait honours the request's context: a call abandoned here is neither
	// charged nor processed.
	Latency time.Duration
	// LatencyJitter is the bound of the uniform random uplink delay added
	// to Latency for each call; 0 adds none.
	LatencyJitter time.Duration
	// ResponseLatency delays every response after the call was metered and
	// processed, before it is written (the downlink); ResponseJitter adds a
	// uniform random [0, ResponseJitter) on top. With both directions
	// jittered, calls are metered out of send order and answered out of
	// meter order, as on a real network. The wait honours the request's
	// context: a call abandoned here was charged and processed, and its
	// client sees the context's error. Its draws come from a random stream
	// of their own, so enabling it leaves the other faults' sequence as it
	// was.
	ResponseLatency time.Duration
	// ResponseJitter is the bound of the uniform random downlink delay
	// added to ResponseLatency for each call; 0 adds none.
	ResponseJitter time.Duration

	// ErrorRate is the probability that a call is answered 500, 502 or 503
	// (chosen at random) with an internal_error envelope. Such a call is
	// charged against the limits but not processed.
	ErrorRate float64
	// ResetRate is the probability that the connection is reset before the
	// call reaches the server: nothing is charged or processed. In process
	// the RoundTripper returns an error; over loopback the connection is
	// closed abruptly.
	ResetRate float64
	// LostRate is the probability that a call is processed (charged, and its
	// effect stored) but its response is lost: the client sees a reset.
	LostRate float64
	// MissingHeadersRate is the probability that a response carries no
	// rate-limit headers.
	MissingHeadersRate float64
	// GarbledHeadersRate is the probability that a response's rate-limit
	// headers are malformed (non-numbers, negatives, unknown window names).
	GarbledHeadersRate float64
	// RetryAfterDate sends Retry-After as an HTTP-date instead of seconds.
	RetryAfterDate bool

	// Neighbour, when set, is another consumer spending on every key.
	Neighbour *Neighbour
}

// Neighbour is another consumer of the same API key, spending at a steady
// rate: one call every Interval, from the server's start (or the last Reset or
// SetFaults), with the given costs. Its calls are admitted by the same meter
// (a refused one is dropped, as a client would see a 429) and are not in the
// journal. They are accounted lazily, when the key is next used or inspected,
// so no goroutine runs in the background.
type Neighbour struct {
	// Interval is the time between two of the neighbour's calls; it must
	// be positive.
	Interval   time.Duration
	Requests   int64 // request cost per call (default 1)
	Complexity int64 // complexity cost per call (default 1)
}

func (f Faults) validate() error {
	var errs []error
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"ErrorRate", f.ErrorRate}, {"ResetRate", f.ResetRate}, {"LostRate", f.LostRate},
		{"MissingHeadersRate", f.MissingHeadersRate}, {"GarbledHeadersRate", f.GarbledHeadersRate},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			errs = append(errs, fmt.Errorf("mock: Faults.%s %v is not a probability", p.name, p.v))
		}
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.ResponseLatency < 0 || f.ResponseJitter < 0 {
		errs = append(errs, errors.New("mock: Faults latency is negative"))
	}
	if n := f.Neighbour; n != nil {
		if n.Interval <= 0 {
			errs = append(errs, errors.New("mock: Neighbour.Interval must be positive"))
		}
		if n.Requests < 0 || n.Complexity < 0 {
			errs = append(errs, errors.New("mock: Neighbour costs are negative"))
		}
	}
	return errors.Join(errs...)
}

// Fault is one kind of injected failure, for Server.FailNext.
type Fault int

const (
	// FaultServerError answers 503 with an internal_error envelope (charged,
	// not processed).
	FaultServerError Fault = iota + 1
	// FaultReset resets the connection before the call arrives (not charged,
	// not processed).
	FaultReset
	// FaultLost processes the call, then loses the response.
	FaultLost
	// FaultMissingHeaders omits the rate-limit headers.
	FaultMissingHeaders
	// FaultGarbledHeaders sends malformed rate-limit headers.
	FaultGarbledHeaders
	// FaultRateLimit answers 429 rate_limit_exceeded with Retry-After 1
	// without charging, as if another consumer had emptied the bucket.
	FaultRateLimit
)

var faultNames = map[Fault]string{
	FaultServerError:    "server_error",
	FaultReset:          "reset",
	FaultLost:           "lost",
	FaultMissingHeaders: "missing_headers",
	FaultGarbledHeaders: "garbled_headers",
	FaultRateLimit:      "rate_limit",
}

// String returns the fault's name as the admin API spells it.
func (f Fault) String() string {
	if s, ok := faultNames[f]; ok {
		return s
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// ParseFault is the inverse of Fault.String.
func ParseFault(s string) (Fault, error) {
	for f, n := range faultNames {
		if n == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("mock: unknown fault %q", s)
}

// rule is a pending FailNext request.
type rule struct {
	method, path string // path is a literal path or a route pattern
	left         int
	fault        Fault
}

func (r *rule) matches(method, path, pattern string) bool {
	return (r.method == "" || strings.EqualFold(r.method, method)) &&
		(r.path == path || r.path == pattern)
}

// plan is what the faults decided for one call. It is drawn in full for every
// call, whatever is enabled, so the random sequence depends only on the
// number of calls.
type plan struct {
	latency        time.Duration
	response       time.Duration // downlink latency
	serverError    int           // status, 0 for none
	reset          bool
	lost           bool
	missingHeaders bool
	garbledHeaders bool
	rateLimit      bool
}

func drawPlan(rng, respRng *rand.Rand, f *Faults) plan {
	var p plan
	p.response = f.ResponseLatency + time.Duration(respRng.Float64()*float64(f.ResponseJitter))
	jitter := rng.Float64()
	errDraw, statusDraw := rng.Float64(), rng.IntN(3)
	resetDraw, lostDraw := rng.Float64(), rng.Float64()
	missDraw, garbleDraw := rng.Float64(), rng.Float64()

	p.latency = f.Latency + time.Duration(jitter*float64(f.LatencyJitter))
	if errDraw < f.ErrorRate {
		p.serverError = [3]int{500, 502, 503}[statusDraw]
	}
	p.reset = resetDraw < f.ResetRate
	p.lost = lostDraw < f.LostRate
	p.missingHeaders = missDraw < f.MissingHeadersRate
	p.garbledHeaders = garbleDraw < f.GarbledHeadersRate
	return p
}

func (p *plan) apply(f Fault) {
	switch f {
	case FaultServerError:
		p.serverError = http.StatusServiceUnavailable
	case FaultReset:
		p.reset = true
	case FaultLost:
		p.lost = true
	case FaultMissingHeaders:
		p.missingHeaders = true
	case FaultGarbledHeaders:
		p.garbledHeaders = true
	case FaultRateLimit:
		p.rateLimit = true
	}
}

// names lists the faults in the plan, for the journal.
func (p *plan) names() string {
	var s []string
	if p.reset {
		s = append(s, FaultReset.String())
	}
	if p.serverError != 0 {
		s = append(s, FaultServerError.String())
	}
	if p.rateLimit {
		s = append(s, FaultRateLimit.String())
	}
	if p.lost {
		s = append(s, FaultLost.String())
	}
	if p.missingHeaders {
		s = append(s, FaultMissingHeaders.String())
	}
	if p.garbledHeaders {
		s = append(s, FaultGarbledHeaders.String())
	}
	return strings.Join(s, ",")
}

// garble replaces the rate-limit headers with malformed values.
func garble(h http.Header) {
	h.Set("X-RateLimit-Bucket", "fortnight")
	h.Set("X-RateLimit-Limit", "lots")
	h.Set("X-RateLimit-Remaining", "-3")
	h.Set("X-RateLimit-Reset", "NaN")
	h.Set("X-Complexity-Bucket", "")
	h.Set("X-Complexity-Limit", "1e999")
	h.Set("X-Complexity-Remaining", "12abc")
	h.Set("X-Complexity-Reset", "soon")
}

func dropRateHeaders(h http.Header) {
	for _, n := range []string{
		"X-RateLimit-Bucket", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
		"X-Complexity-Bucket", "X-Complexity-Limit", "X-Complexity-Remaining", "X-Complexity-Reset",
	} {
		h.Del(n)
	}
}

// InjectedError is the error an in-process client sees for a reset or a lost
// response. It unwraps to syscall.ECONNRESET, as a real reset would.
type InjectedError struct {
	Fault Fault // FaultReset or FaultLost
}

// Error describes the injected failure.
func (e *InjectedError) Error() string {
	return "mock: connection reset by peer (injected " + e.Fault.String() + ")"
}

// Unwrap returns syscall.ECONNRESET.
func (e *InjectedError) Unwrap() error { return syscall.ECONNRESET }

// sleepCtx waits d or until ctx is done, whichever is first.
func sleepCtx(done <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
