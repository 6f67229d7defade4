package throttle

import "time"

// bucket is one leaky bucket, kept exactly in integer arithmetic.
//
// The level is stored scaled by the period: scaled = tokens × Period, in
// token·nanosecond units. Refill over an elapsed time e then adds e × Limit
// (Limit/Period tokens per nanosecond, times Period), with no rounding, and
// the bucket is full at Limit × Period. Policy.Validate keeps Limit × Period
// far below the int64 range.
//
// The level may be negative: a resync can learn that the server holds fewer
// tokens than this client's requests in flight will need.
type bucket struct {
	limit  int64         // capacity, tokens
	period time.Duration // time to refill from empty to full
	scaled int64         // level × period, as of at
	at     time.Duration // time of scaled, on the store's clock
}

func newBucket(b Bucket, now time.Duration) bucket {
	return bucket{limit: b.Limit, period: b.Period, scaled: b.Limit * int64(b.Period), at: now}
}

func (b *bucket) full() int64 { return b.limit * int64(b.period) }

// advance credits the refill since b.at, capped at full, and moves b.at to now.
// Time never runs backwards for a bucket: an earlier now is ignored.
func (b *bucket) advance(now time.Duration) {
	elapsed := now - b.at
	if elapsed <= 0 {
		return
	}
	b.at = now
	missing := b.full() - b.scaled
	if missing <= 0 {
		return
	}
	// elapsed × limit could overflow after a long idle; compare first.
	if int64(elapsed) >= (missing+b.limit-1)/b.limit {
		b.scaled = b.full()
		return
	}
	b.scaled += int64(elapsed) * b.limit
}

// level returns the tokens held at now (after advance), as a float for display.
func (b *bucket) level() float64 { return float64(b.scaled) / float64(b.period) }

// has reports whether the bucket holds at least n tokens (after advance).
func (b *bucket) has(n int64) bool { return b.scaled >= n*int64(b.period) }

// take removes n tokens (after advance). The level may go negative.
func (b *bucket) take(n int64) { b.scaled -= n * int64(b.period) }

// give returns n tokens, never beyond full.
func (b *bucket) give(n int64) { b.scaled = min(b.full(), b.scaled+n*int64(b.period)) }

// set makes the level exactly n tokens (n may be negative; capped at full).
func (b *bucket) set(n int64) { b.scaled = min(b.full(), n*int64(b.period)) }

// waitFor returns how long from b.at until the bucket holds n tokens,
// rounded up to the nanosecond: (n × period − scaled) / limit.
func (b *bucket) waitFor(n int64) time.Duration {
	need := n*int64(b.period) - b.scaled
	if need <= 0 {
		return 0
	}
	return time.Duration((need + b.limit - 1) / b.limit)
}

// untilFull returns how long from b.at until the bucket is full.
func (b *bucket) untilFull() time.Duration { return b.waitFor(b.limit) }
