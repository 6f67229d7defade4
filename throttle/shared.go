package throttle

import "time"

// The names in this file are what another Store (such as redisstore's) or a
// client built on the Throttle needs in order to agree with it exactly.

// MaxDebt is how many capacities below zero a bucket's level may go. A level
// goes negative when a response shows that the server holds fewer tokens
// than the calls still in flight will take; a debt of more than a few
// capacities tells nothing more, and the bound keeps a level's integer
// arithmetic from overflowing. A Store keeps each level within
// [−MaxDebt × Limit, Limit].
const MaxDebt = 4

// DefaultRetryAfter is the wait assumed after a rate-limit 429 whose
// Retry-After header is missing or malformed: the Throttle pauses every
// caller for it, and a client that retries waits at least as long. Long
// enough not to hammer the server, short enough to cost little.
const DefaultRetryAfter = time.Second

// Units expresses b's refill exactly in integers, for a clock that counts
// whole ticks of length tick (time.Nanosecond for the Throttle's own store,
// time.Microsecond for Redis's clock): one token is perToken units, and the
// bucket refills perTick units per tick, in lowest terms. A level kept in
// units (tokens × perToken) refills without rounding: after e ticks it has
// gained exactly e × perTick. A Period that is not a whole number of ticks
// is rounded up to one. tick must be positive.
func (b Bucket) Units(tick time.Duration) (perToken, perTick int64) {
	ticks := int64(b.Period / tick)
	if b.Period%tick != 0 {
		ticks++
	}
	g := gcd(b.Limit, ticks)
	return ticks / g, b.Limit / g
}

// MaxCost returns, per kind, the largest cost that p's cost function gives
// any of the Mem calls Validate checks against the capacities (mem-it, note
// create, note list, search, collection create), and at least one token of
// each kind: the capacity a bucket needs so that every call can pass.
func (p Policy) MaxCost() Cost {
	most := Cost{Requests: 1, Complexity: 1}
	for _, call := range sampleCalls {
		c := p.Cost(call[0], call[1])
		most.Requests = max(most.Requests, c.Requests)
		most.Complexity = max(most.Complexity, c.Complexity)
	}
	return most
}
