package memclient

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
)

// Backoff for 5xx and connection errors: attempt n (from 1) waits a random
// duration in [d/2, d] with d = retryBase·2^(n-1), at most retryCap (and the
// client's max retry wait).
const (
	retryBase = 500 * time.Millisecond
	retryCap  = 30 * time.Second
	// rateJitter bounds the extra wait after a rate-limit 429. The wait
	// for Retry-After itself happens in the throttle, which pauses every
	// caller until then, so the backoff only spreads the restart.
	rateJitter = 100 * time.Millisecond
	// maxRateRetries bounds the retries after rate-limit 429s of one call,
	// which are counted apart from RetryMax (see check).
	maxRateRetries = 32
)

// retryPolicy is go-retryablehttp's CheckRetry and Backoff for one call.
// check decides, from the attempt's outcome, whether to try again and how
// long to wait first; backoff returns that wait. It replaces the library's
// defaults, which sleep any Retry-After without a cap and ignore the
// context's deadline.
type retryPolicy struct {
	c    *Client
	r    *request
	wait time.Duration

	errRetries  int // retries after 5xx and connection errors (bounded by RetryMax)
	rateRetries int // retries after rate-limit 429s (bounded by maxRateRetries and the max wait)
}

func (p *retryPolicy) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return p.wait
}

// check implements retryablehttp.CheckRetry. Returning (false, nil) hands
// the response (or the transport error) back to Client.do, which turns it
// into a typed error.
//
// Retries after 5xx responses and connection errors (but those no retry
// mends: see beyondRetry) count against the client's RetryMax. Retries
// after rate-limit 429s count apart: such a call was not processed and the
// throttle has paused every caller until Retry-After, so another attempt
// is cheap and likely to pass; they go on while each Retry-After stays
// within the max retry wait and the context's deadline, at most
// maxRateRetries times. The time the call spent queued in the throttle
// does not count: that is the limits working, not failing. RetryMax 0
// disables both.
func (p *retryPolicy) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	p.r.attempts++
	now := time.Now()
	if err != nil {
		return p.checkTransportError(ctx, now, err)
	}
	attrs := []slog.Attr{slog.String("op", p.r.op()), slog.Int("status", resp.StatusCode)}
	if id := resp.Header.Get("X-Request-Id"); id != "" { // Mem's documented id is in the body: see Response.RequestID
		attrs = append(attrs, slog.String("request_id", id))
	}
	p.c.log.LogAttrs(ctx, slog.LevelDebug, "mem response", attrs...)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return p.checkTooManyRequests(ctx, now, resp)
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return p.checkServerError(ctx, now, resp)
	}
	return false, nil
}

// checkTransportError decides after an attempt that got no response. A
// throttle that refused to wait past the deadline sent nothing: that is a
// RateLimitError. A request that may have reached the server is retried
// only when it is repeatable; otherwise its outcome is unknown.
func (p *retryPolicy) checkTransportError(ctx context.Context, now time.Time, err error) (bool, error) {
	err = shortURLError(err) // the error this returns, or wraps, is read by people
	var de *throttle.DeadlineError
	if errors.As(err, &de) { // nothing was sent; waiting would pass the deadline
		return false, &RateLimitError{RetryAfter: de.Wait, RetryAt: now.Add(de.Wait), Err: err}
	}
	if beyondRetry(err) {
		return false, err
	}
	if ctx.Err() != nil {
		if p.r.sent.Load() && !p.r.repeatable() { // it ended in flight: the server may have it
			return false, p.outcomeUnknown(ctx, err, slog.String("error", err.Error()))
		}
		return false, err
	}
	if sent := p.r.sent.Load() && !NeverSent(err); sent { // an error from the throttle left nothing in the network
		if !p.r.repeatable() {
			return false, p.outcomeUnknown(ctx, err, slog.String("error", err.Error()))
		}
		p.r.ambiguous = true
	}
	return p.backoffOr(ctx, now, "connection error", err)
}

// checkTooManyRequests decides after a 429. A plan's allowance (quota
// exceeded) is final. A rate-limit 429 was not processed, so any call, mem-it
// too, is retried while retries remain and its Retry-After (1 s when absent
// or malformed) fits in the max retry wait and the context's deadline.
func (p *retryPolicy) checkTooManyRequests(ctx context.Context, now time.Time, resp *http.Response) (bool, error) {
	if api := p.c.apiError(p.r, resp, readBody(resp)); api.Type == ErrTypeQuotaExceeded {
		return false, nil // a plan's allowance: never slept on
	}
	ra, ok, perr := headers.ParseRetryAfter(resp.Header, now)
	if !ok || perr != nil {
		ra = throttle.DefaultRetryAfter
	}
	if p.c.retryMax == 0 || p.rateRetries >= maxRateRetries {
		return false, nil
	}
	if reason := p.refuseWait(ctx, now, ra); reason != "" {
		p.c.log.LogAttrs(ctx, slog.LevelDebug, "mem retry refused", slog.String("op", p.r.op()),
			slog.String("reason", reason), slog.Duration("retry_after", ra))
		return false, nil
	}
	p.rateRetries++
	p.wait = rand.N(rateJitter)
	p.logRetry(ctx, "rate limited", ra)
	return true, nil
}

// checkServerError decides after a 5xx other than 501. The call may have
// been processed: a repeatable one is retried after a backoff, lengthened to
// the response's Retry-After when that is longer and fits; any other has an
// unknown outcome.
func (p *retryPolicy) checkServerError(ctx context.Context, now time.Time, resp *http.Response) (bool, error) {
	if !p.r.repeatable() {
		api := p.c.apiError(p.r, resp, readBody(resp))
		return false, p.outcomeUnknown(ctx, api, slog.Int("status", resp.StatusCode))
	}
	p.r.ambiguous = true
	ok, err := p.backoffOr(ctx, now, "server error", nil)
	if ra, has, perr := headers.ParseRetryAfter(resp.Header, now); ok && has && perr == nil && ra > p.wait {
		if p.refuseWait(ctx, now, ra) != "" {
			return false, nil
		}
		p.wait = ra
	}
	return ok, err
}

// refuseWait says why waiting ra from now is refused: it exceeds the
// client's max retry wait, or it reaches the context's deadline. It returns
// "" when the wait is allowed.
func (p *retryPolicy) refuseWait(ctx context.Context, now time.Time, ra time.Duration) string {
	if ra > p.c.maxRetryWait {
		return "Retry-After exceeds the max retry wait"
	}
	if reachesDeadline(ctx, now, ra) {
		return "Retry-After reaches the deadline"
	}
	return ""
}

// reachesDeadline reports whether a wait of d from now ends at or after
// ctx's deadline: at the deadline the context is done, so a retry then
// could not be sent.
func reachesDeadline(ctx context.Context, now time.Time, d time.Duration) bool {
	dl, has := ctx.Deadline()
	return has && !now.Add(d).Before(dl)
}

// outcomeUnknown logs and returns the error of a call that may have been
// processed and may not be repeated.
func (p *retryPolicy) outcomeUnknown(ctx context.Context, cause error, detail slog.Attr) error {
	p.c.log.LogAttrs(ctx, slog.LevelWarn, "mem outcome unknown", slog.String("op", p.r.op()), detail)
	return &OutcomeUnknownError{Op: p.r.op(), Err: cause}
}

// backoffOr schedules another attempt after an exponential backoff, unless
// the wait would reach the context's deadline; then it gives up with err.
func (p *retryPolicy) backoffOr(ctx context.Context, now time.Time, reason string, err error) (bool, error) {
	if p.errRetries >= p.c.retryMax {
		return false, err
	}
	p.errRetries++
	d := retryBase << min(p.errRetries-1, 10)
	d = min(d, retryCap, p.c.maxRetryWait)
	wait := d/2 + rand.N(d/2+1)
	if reachesDeadline(ctx, now, wait) {
		return false, err
	}
	p.wait = wait
	p.logRetry(ctx, reason, wait)
	return true, nil
}

func (p *retryPolicy) logRetry(ctx context.Context, reason string, wait time.Duration) {
	p.c.log.LogAttrs(ctx, slog.LevelDebug, "mem retry", slog.String("op", p.r.op()),
		slog.String("reason", reason), slog.Duration("wait", wait), slog.Int("attempt", p.r.attempts))
}

// beyondRetry reports whether err is one that no retry can mend, and that
// left the server nothing: the server answers plain HTTP at an https://
// base URL, its certificate is not trusted, or the throttle refused the
// call (it costs more than a bucket holds, or the client was created
// outside the testing/synctest bubble it is used in). Such a call fails at
// once.
func beyondRetry(err error) bool {
	var cert *tls.CertificateVerificationError
	var cost *throttle.CostError
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &cert) ||
		errors.Is(err, throttle.ErrClockBehind) || errors.As(err, &cost)
}

// NeverSent reports whether a transport error proves that no byte of the
// request reached the server: the connection to it (or to the proxy)
// could not be made (DNS, refused, no route, a dial cancelled or timed
// out), or the server at an https:// URL answers plain HTTP. An error
// number alone proves nothing: a refusal or "no route to host" can also
// end a connection the request already went out on. A call that failed so
// may be sent again whatever its kind; memclient retries mem-it only then
// (see MemItRequest.AtLeastOnce).
func NeverSent(err error) bool {
	if errors.Is(err, http.ErrSchemeMismatch) {
		return true
	}
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || (errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect"))
}
