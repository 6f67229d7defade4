package throttle

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Cost is what one call spends: request tokens (always 1 at Mem) and
// complexity tokens (1 for most calls, 40 for mem-it). Each is charged to
// both windows (minute and day) of its kind.
type Cost struct {
	Requests   int64 // request tokens
	Complexity int64 // complexity tokens
}

// Of returns the cost in kind k.
func (c Cost) Of(k headers.Kind) int64 {
	if k == headers.Complexity {
		return c.Complexity
	}
	return c.Requests
}

// Add returns c + d.
func (c Cost) Add(d Cost) Cost {
	return Cost{Requests: c.Requests + d.Requests, Complexity: c.Complexity + d.Complexity}
}

// Sub returns c − d.
func (c Cost) Sub(d Cost) Cost {
	return Cost{Requests: c.Requests - d.Requests, Complexity: c.Complexity - d.Complexity}
}

// Within reports whether c is at most limit in each kind.
func (c Cost) Within(limit Cost) bool {
	return c.Requests <= limit.Requests && c.Complexity <= limit.Complexity
}

// Bucket describes one leaky bucket: Limit tokens of Kind that refill
// continuously at Limit/Period, so a full bucket allows a burst of Limit.
type Bucket struct {
	Kind   headers.Kind   // the tokens it holds: requests or complexity
	Window headers.Window // its window, as the headers name it: minute or day
	Limit  int64          // its capacity in tokens: the burst a full bucket allows
	Period time.Duration  // the time it takes to refill Limit tokens
}

// String describes the bucket, e.g. "requests/minute (100 per 1m0s)".
func (b Bucket) String() string {
	return fmt.Sprintf("%s/%s (%d per %s)", b.Kind, b.Window, b.Limit, b.Period)
}

// CostFunc maps a request's method and URL path to its cost.
type CostFunc func(method, urlPath string) Cost

// Policy is the set of buckets a server enforces and the cost of each call.
// The zero Policy is not valid; start from DefaultPolicy and change numbers
// (a different plan, a future change, a fast demo) rather than building one
// from scratch.
type Policy struct {
	// Buckets are the buckets every call is charged to, at most one per
	// kind and window; a call is admitted only when each holds its cost.
	Buckets []Bucket
	// Cost prices a call by method and path until responses have shown
	// that route's real price (see Throttle.Cost). A throttle calls it for
	// every request a Transport sends, holding its lock: it must be fast,
	// safe for concurrent use, and must not call the Throttle.
	Cost CostFunc
}

// Mem's published limits (its rate-limit documentation). They are defaults:
// nothing in this package depends on them beyond DefaultPolicy.
const (
	RequestsPerMinute   = 100
	RequestsPerDay      = 4000
	ComplexityPerMinute = 200
	ComplexityPerDay    = 8000
	MemItComplexity     = 40
)

// DefaultPolicy returns Mem's published limits: 100 requests a minute and
// 4000 a day, 200 complexity tokens a minute and 8000 a day; every call costs
// one request token, POST /v2/mem-it costs 40 complexity tokens and every
// other call one (see MemCost).
func DefaultPolicy() Policy {
	return Policy{
		Buckets: []Bucket{
			{Kind: headers.Requests, Window: headers.Minute, Limit: RequestsPerMinute, Period: time.Minute},
			{Kind: headers.Requests, Window: headers.Day, Limit: RequestsPerDay, Period: 24 * time.Hour},
			{Kind: headers.Complexity, Window: headers.Minute, Limit: ComplexityPerMinute, Period: time.Minute},
			{Kind: headers.Complexity, Window: headers.Day, Limit: ComplexityPerDay, Period: 24 * time.Hour},
		},
		Cost: MemCost,
	}
}

// WithWindows returns a copy of p whose minute buckets refill over minute
// and whose day buckets over day, limits and costs unchanged: the policy
// for a server on a fast clock, such as a mock run with a one-second minute
// (memmock --minute 1s, or mock.Limits{Minute: time.Second}), which a
// throttle cannot learn from the headers (they tell limits and levels, not
// window lengths). A zero or negative duration leaves those buckets as they
// are.
func (p Policy) WithWindows(minute, day time.Duration) Policy {
	p.Buckets = slices.Clone(p.Buckets)
	for i, b := range p.Buckets {
		switch {
		case b.Window == headers.Minute && minute > 0:
			p.Buckets[i].Period = minute
		case b.Window == headers.Day && day > 0:
			p.Buckets[i].Period = day
		}
	}
	return p
}

// MemCost is Mem's cost function: 40 complexity tokens for POST /v2/mem-it,
// one for everything else, one request token always. The path may carry a
// base URL's prefix ("/proxy/v2/mem-it"), a trailing slash or dot segments;
// the query string is not part of urlPath (use URL.Path, not RequestURI).
func MemCost(method, urlPath string) Cost {
	if method == http.MethodPost && isMemItPath(urlPath) {
		return Cost{Requests: 1, Complexity: MemItComplexity}
	}
	return Cost{Requests: 1, Complexity: 1}
}

func isMemItPath(p string) bool {
	if i := strings.IndexAny(p, "?#"); i >= 0 { // tolerate a RequestURI by mistake
		p = p[:i]
	}
	if !strings.Contains(p, "mem-it") { // fast path: no allocation for other calls
		return false
	}
	p = path.Clean("/" + p)
	return p == "/v2/mem-it" || strings.HasSuffix(p, "/v2/mem-it")
}

// maxScaled bounds a full bucket in its units (see bucket) so that the
// arithmetic cannot overflow int64, even with MaxDebt capacities of debt.
const maxScaled = math.MaxInt64 / 16

// Validate reports whether p is usable: at least one bucket, each with a
// positive limit and period and a known kind and window, no two buckets for
// the same kind and window, a cost function, and (checked against sample
// Mem calls) every cost within every capacity, or no call could ever pass.
func (p Policy) Validate() error {
	if len(p.Buckets) == 0 {
		return errors.New("throttle: policy has no buckets")
	}
	if p.Cost == nil {
		return errors.New("throttle: policy has no cost function")
	}
	seen := map[Bucket]bool{}
	for _, b := range p.Buckets {
		if err := b.validate(); err != nil {
			return err
		}
		key := Bucket{Kind: b.Kind, Window: b.Window}
		if seen[key] {
			return fmt.Errorf("throttle: two buckets for %s/%s", b.Kind, b.Window)
		}
		seen[key] = true
	}
	return p.validateCosts()
}

// validate reports whether b alone is usable: a known kind and window, a
// positive limit and period, and a full level its units can hold.
func (b Bucket) validate() error {
	switch {
	case b.Kind != headers.Requests && b.Kind != headers.Complexity:
		return fmt.Errorf("throttle: bucket %v: unknown kind", b)
	case b.Window != headers.Minute && b.Window != headers.Day:
		return fmt.Errorf("throttle: bucket %v: unknown window %q", b, b.Window)
	case b.Limit <= 0:
		return fmt.Errorf("throttle: bucket %v: limit must be positive", b)
	case b.Period <= 0:
		return fmt.Errorf("throttle: bucket %v: period must be positive", b)
	case b.Limit > maxScaled/unitsPerToken(b):
		return fmt.Errorf("throttle: bucket %v: limit too large for its period", b)
	}
	return nil
}

// validateCosts checks p.Cost against sample Mem calls: no negative cost,
// and none beyond a bucket's limit, or that call could never pass.
func (p Policy) validateCosts() error {
	for _, call := range sampleCalls {
		c := p.Cost(call[0], call[1])
		if c.Requests < 0 || c.Complexity < 0 {
			return fmt.Errorf("throttle: negative cost for %s %s", call[0], call[1])
		}
		for _, b := range p.Buckets {
			if c.Of(b.Kind) > b.Limit {
				return fmt.Errorf("throttle: %s %s costs %d %s tokens, more than bucket %v holds", call[0], call[1], c.Of(b.Kind), b.Kind, b)
			}
		}
	}
	return nil
}

// capacity returns, per kind, the limit of its smallest bucket (no limit
// for a kind without buckets).
func (p Policy) capacity() Cost {
	c := Cost{Requests: math.MaxInt64, Complexity: math.MaxInt64}
	for _, b := range p.Buckets {
		if b.Kind == headers.Complexity {
			c.Complexity = min(c.Complexity, b.Limit)
		} else {
			c.Requests = min(c.Requests, b.Limit)
		}
	}
	return c
}

func unitsPerToken(b Bucket) int64 { q, _ := units(b); return q }

// sampleCalls are the calls Validate prices to check costs against capacities.
var sampleCalls = [][2]string{
	{http.MethodPost, "/v2/mem-it"},
	{http.MethodPost, "/v2/notes"},
	{http.MethodGet, "/v2/notes"},
	{http.MethodPost, "/v2/notes/search"},
	{http.MethodPost, "/v2/collections"},
}

// refillTime is how long the bucket takes to refill n tokens (0 for n ≤ 0).
func (b Bucket) refillTime(n float64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(n * float64(b.Period) / float64(b.Limit)))
}

// refillOver is how many tokens the bucket refills over d (0 for d ≤ 0).
func (b Bucket) refillOver(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(d) * float64(b.Limit) / float64(b.Period)
}

// shortestPeriod is the period of the policy's fastest-refilling window.
func (p Policy) shortestPeriod() time.Duration {
	d := p.Buckets[0].Period
	for _, b := range p.Buckets[1:] {
		d = min(d, b.Period)
	}
	return d
}
