package throttle

import "time"

// bucket is one leaky bucket, kept exactly in integer arithmetic.
//
// A bucket of limit L and period P refills at L/P tokens per nanosecond.
// With g = gcd(L, P in ns), that is r = L/g units per nanosecond, where one
// token is q = P/g units. The level is stored in units (scaled = tokens × q),
// so a refill over e nanoseconds adds exactly e × r, the bucket is full at
// L × q, and no rounding ever accumulates. Policy.Validate keeps L × q far
// below the int64 range.
//
// The level may be negative: a resync can learn that the server holds fewer
// tokens than this client's requests in flight will need.
type bucket struct {
	limit  int64         // capacity, tokens
	q      int64         // units per token: P/g
	r      int64         // units refilled per nanosecond: L/g
	scaled int64         // level × q, as of at
	at     time.Duration // time of scaled, on the store's clock
}

func newBucket(b Bucket, now time.Duration) bucket {
	q, r := units(b)
	return bucket{limit: b.Limit, q: q, r: r, scaled: b.Limit * q, at: now}
}

// units returns a bucket's units per token and units per nanosecond.
func units(b Bucket) (q, r int64) { return b.Units(time.Nanosecond) }

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (b *bucket) full() int64 { return b.limit * b.q }

// advance credits the refill since b.at, capped at full, and moves b.at to now.
// Time never runs backwards for a bucket: an earlier now is ignored.
func (b *bucket) advance(now time.Duration) {
	elapsed := int64(now - b.at)
	if elapsed <= 0 {
		return
	}
	b.at = now
	missing := b.full() - b.scaled
	if missing <= 0 {
		return
	}
	// elapsed × r could overflow after a long idle; compare first.
	if elapsed >= (missing+b.r-1)/b.r {
		b.scaled = b.full()
		return
	}
	b.scaled += elapsed * b.r
}

// level returns the tokens held (as of the last advance), for display.
func (b *bucket) level() float64 { return float64(b.scaled) / float64(b.q) }

// has reports whether the bucket holds at least n tokens (after advance).
func (b *bucket) has(n int64) bool { return b.scaled >= n*b.q }

// take removes n tokens (after advance). The level may go negative.
func (b *bucket) take(n int64) { b.scaled -= n * b.q }

// give returns n tokens, never beyond full.
func (b *bucket) give(n int64) { b.scaled = min(b.full(), b.scaled+n*b.q) }

// set makes the level exactly n tokens, within [−MaxDebt·limit, limit]:
// a debt of more than a few capacities tells nothing more and could overflow.
func (b *bucket) set(n int64) { b.scaled = max(-MaxDebt*b.limit, min(b.limit, n)) * b.q }

// clamp holds the level to at most n tokens (after advance).
func (b *bucket) clamp(n int64) { b.scaled = min(b.scaled, n*b.q) }

// above reports whether the level (after advance) is at least n tokens plus
// the refill over d: more than a bucket that held fewer than n tokens d ago
// can hold now. No level is above a ceiling that the refill takes to full.
func (b *bucket) above(n int64, d time.Duration) bool {
	if n >= b.limit {
		return false
	}
	ceil := n * b.q
	room := b.full() - ceil
	if room <= 0 || int64(max(0, d)) >= (room+b.r-1)/b.r {
		return false
	}
	return b.scaled >= ceil+int64(max(0, d))*b.r
}

// waitFor returns how long from b.at until the bucket holds n tokens,
// rounded up to the nanosecond.
func (b *bucket) waitFor(n int64) time.Duration {
	need := n*b.q - b.scaled
	if need <= 0 {
		return 0
	}
	return time.Duration((need + b.r - 1) / b.r)
}

// untilFull returns how long from b.at until the bucket is full.
func (b *bucket) untilFull() time.Duration { return b.waitFor(b.limit) }
