package memclient

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/memsdk/mem-go/throttle"
)

// Defaults used by New when no option says otherwise.
const (
	// DefaultBaseURL is Mem's API server.
	DefaultBaseURL = "https://api.mem.ai"
	// DefaultRetryMax is how many times a call is retried after a 5xx
	// response or a connection error.
	DefaultRetryMax = 4
	// DefaultMaxRetryWait bounds how long a call keeps retrying rate-limit
	// 429s, and any single backoff.
	DefaultMaxRetryWait = 2 * time.Minute
	// DefaultUserAgent is sent when WithUserAgent is not used.
	DefaultUserAgent = "mem-go/0 (+https://github.com/memsdk/mem-go)"
)

// Environment variables read by New when the matching option is absent.
const (
	EnvAPIKey  = "MEM_API_KEY"
	EnvBaseURL = "MEM_API_URL"
)

// ErrNoAPIKey is returned by New when neither WithAPIKey nor MEM_API_KEY
// gives a key.
var ErrNoAPIKey = errors.New("memclient: no API key: use WithAPIKey or set " + EnvAPIKey)

// secret holds the API key. Every way of printing it (fmt verbs, slog,
// JSON) shows a redacted placeholder, so a key can never leak through a
// value that happens to be logged. It is a function, not a string: fmt
// prints an unexported struct field without calling its methods, and for a
// function that is only its address, whatever the verb.
type secret func() string

// newSecret wraps key.
func newSecret(key string) secret { return func() string { return key } }

const redacted = "[REDACTED]"

// Format implements fmt.Formatter: every verb prints the placeholder.
func (secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// String returns the placeholder.
func (secret) String() string { return redacted }

// GoString returns the placeholder.
func (secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the placeholder.
func (secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the placeholder.
func (secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// config is what the options build. Its key is a secret, so printing a
// config (or a Client) never shows it.
type config struct {
	apiKey       secret // nil: not given
	baseURL      string
	httpClient   *http.Client
	transport    http.RoundTripper
	throttle     *throttle.Throttle
	policy       *throttle.Policy
	retryMax     int
	maxRetryWait time.Duration
	logger       *slog.Logger
	userAgent    string
}

// Option configures a Client in New.
type Option func(*config) error

// WithAPIKey sets the API key (sent as "Authorization: Bearer KEY"). Without
// it, New reads MEM_API_KEY. The key is never logged or printed.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		c.apiKey = newSecret(key)
		return nil
	}
}

// WithBaseURL sets the server, e.g. "https://api.mem.ai" or a proxy with a
// path prefix ("https://proxy.example/mem"). Without it, New reads
// MEM_API_URL, then uses DefaultBaseURL. The client adds the API version
// to every path ("/v2/notes"): New refuses a base URL whose path ends in
// /v2 (drop it), from this option or MEM_API_URL.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient sends requests with hc's Transport (under the throttle) and
// keeps its Timeout, CheckRedirect and Jar. A nil Transport means
// http.DefaultTransport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("memclient: WithHTTPClient(nil)")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTransport sends requests with rt, under the throttle. It takes
// precedence over the Transport of WithHTTPClient. Tests pass the mock's
// in-memory RoundTripper here.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) error {
		if rt == nil {
			return errors.New("memclient: WithTransport(nil)")
		}
		c.transport = rt
		return nil
	}
}

// WithThrottle makes the client spend from t instead of a throttle of its
// own. Share one Throttle between all clients (in one process) that use the
// same API key: the server's limits are per key. WithPolicy is then ignored.
func WithThrottle(t *throttle.Throttle) Option {
	return func(c *config) error {
		if t == nil {
			return errors.New("memclient: WithThrottle(nil)")
		}
		c.throttle = t
		return nil
	}
}

// WithPolicy sets the limits of the client's own throttle (default
// throttle.DefaultPolicy, Mem's published limits). Use it for another plan
// or when Mem changes its numbers.
func WithPolicy(p throttle.Policy) Option {
	return func(c *config) error {
		c.policy = &p
		return nil
	}
}

// WithRetryMax sets how many times a call may be retried after a 5xx
// response or a connection error (0 disables all retries). Retries after a
// rate-limit 429 are bounded by the max retry wait instead (see
// WithMaxRetryWait). Default DefaultRetryMax.
func WithRetryMax(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("memclient: WithRetryMax(%d): negative", n)
		}
		c.retryMax = n
		return nil
	}
}

// WithMaxRetryWait caps each wait between attempts: a backoff after an error
// is never longer, and a rate-limit 429 whose Retry-After is longer fails at
// once with a *RateLimitError that says when to try again. Time spent queued
// in the throttle does not count (bound it with the context's deadline).
// Default DefaultMaxRetryWait.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("memclient: WithMaxRetryWait(%v): not positive", d)
		}
		c.maxRetryWait = d
		return nil
	}
}

// WithLogger logs each attempt, response and retry decision at Debug level
// (and give-ups at Warn). Headers, bodies and the API key are never logged.
// Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header. Default DefaultUserAgent.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("memclient: WithUserAgent: line break in value")
		}
		c.userAgent = ua
		return nil
	}
}

// validKey reports whether k can travel in a header: printable ASCII, no
// spaces. The error never quotes the key.
func validKey(s secret) error {
	if s == nil || s() == "" {
		return ErrNoAPIKey
	}
	k := s()
	for i := 0; i < len(k); i++ {
		if b := k[i]; b <= ' ' || b >= 0x7f {
			return errors.New("memclient: API key holds a space, control or non-ASCII character")
		}
	}
	return nil
}
