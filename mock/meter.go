package mock

import (
	"time"

	"github.com/memsdk/mem-go/headers"
)

// bucket is one leaky bucket, in exact fixed-point arithmetic.
//
// With capacity L tokens and period P, the bucket refills at L/P tokens per
// unit of time. To keep that exact, levels are counted in units where one
// token is P_µs units (the period in microseconds) and every elapsed
// microsecond adds L units:
//
//	full     = L × P_µs units
//	level(t) = min(full, level(last) + L × whole_µs(t − last))
//	tokens   = ⌊level / P_µs⌋
//	wait(c)  = ⌈(c × P_µs − level) / L⌉ µs, less the part of a µs already elapsed
//
// So 100 tokens per minute regain exactly one token every 600,000 µs (0.6 s),
// and 200 per minute exactly 40 tokens in 12 s, with no float rounding.
// last only advances by whole microseconds, so no elapsed time is lost.
type bucket struct {
	window headers.Window
	limit  int64     // L, capacity in tokens
	per    int64     // P_µs, units per token
	level  int64     // current level in units, 0..limit*per
	last   time.Time // the instant level is computed for
}

func newBucket(w headers.Window, limit int64, period time.Duration, now time.Time) bucket {
	per := int64(period / time.Microsecond)
	return bucket{window: w, limit: limit, per: per, level: limit * per, last: now}
}

func (b *bucket) full() int64 { return b.limit * b.per }

// advance refills the bucket up to now. A now before last changes nothing.
func (b *bucket) advance(now time.Time) {
	us := int64(now.Sub(b.last) / time.Microsecond)
	if us <= 0 {
		return
	}
	if us >= b.per || b.level >= b.full() {
		b.level = b.full()
	} else {
		b.level = min(b.full(), b.level+us*b.limit) // us < per: no overflow
	}
	b.last = b.last.Add(time.Duration(us) * time.Microsecond)
}

// tokens is the whole tokens held (floor of the level).
func (b *bucket) tokens() int64 {
	if b.per == 0 {
		return 0
	}
	return b.level / b.per
}

// fits reports whether cost tokens are held now (after advance).
func (b *bucket) fits(cost int64) bool {
	return cost <= b.limit && cost*b.per <= b.level
}

// untilLevel is how long after now (≥ last, already advanced) the level
// reaches units. A target above full is capped at full.
func (b *bucket) untilLevel(now time.Time, units int64) time.Duration {
	units = min(units, b.full())
	deficit := units - b.level
	if deficit <= 0 || b.limit == 0 {
		return 0
	}
	us := (deficit + b.limit - 1) / b.limit
	d := time.Duration(us)*time.Microsecond - now.Sub(b.last)
	return max(d, 0)
}

// wait is how long until cost tokens fit; a cost above capacity never fits,
// and gets the time until the bucket is full.
func (b *bucket) wait(now time.Time, cost int64) time.Duration {
	return b.untilLevel(now, min(cost, b.limit)*b.per)
}

// state is the bucket as the headers report it.
func (b *bucket) state(now time.Time) headers.WindowState {
	return headers.WindowState{
		Window:    b.window,
		Limit:     b.limit,
		Remaining: b.tokens(),
		Reset:     b.untilLevel(now, b.full()),
	}
}

// meter is the four buckets of one key. It is not safe for concurrent use:
// the key's lock guards it.
type meter struct {
	req [2]bucket // minute, day
	cpx [2]bucket // minute, day
}

func newMeter(l Limits, now time.Time) meter {
	return meter{
		req: [2]bucket{
			newBucket(headers.Minute, l.RequestsPerMinute, l.Minute, now),
			newBucket(headers.Day, l.RequestsPerDay, l.Day, now),
		},
		cpx: [2]bucket{
			newBucket(headers.Minute, l.ComplexityPerMinute, l.Minute, now),
			newBucket(headers.Day, l.ComplexityPerDay, l.Day, now),
		},
	}
}

func (m *meter) advance(now time.Time) {
	for i := range 2 {
		m.req[i].advance(now)
		m.cpx[i].advance(now)
	}
}

// refusal names the bucket that blocks a call longest.
type refusal struct {
	kind  headers.Kind
	b     bucket // a copy, for the error details
	cost  int64
	wait  time.Duration
	never bool // the cost exceeds the bucket's capacity
}

// charge admits a call of request cost rc and complexity cost cc at now if
// every bucket holds its cost, and then takes it from all four. A refused call
// is charged nothing; the refusal names the bucket with the longest wait (on
// a tie, the complexity type and the day window, the later in this order).
func (m *meter) charge(now time.Time, rc, cc int64) (ok bool, r refusal) {
	m.advance(now)
	all := [4]struct {
		kind headers.Kind
		b    *bucket
		cost int64
	}{
		{headers.Requests, &m.req[0], rc},
		{headers.Requests, &m.req[1], rc},
		{headers.Complexity, &m.cpx[0], cc},
		{headers.Complexity, &m.cpx[1], cc},
	}
	ok = true
	for _, x := range all {
		if x.b.fits(x.cost) {
			continue
		}
		w := x.b.wait(now, x.cost)
		if ok || w >= r.wait {
			r = refusal{kind: x.kind, b: *x.b, cost: x.cost, wait: w, never: x.cost > x.b.limit}
		}
		ok = false
	}
	if !ok {
		return false, r
	}
	for _, x := range all {
		x.b.level -= x.cost * x.b.per
	}
	return true, refusal{}
}

// status reports, per type, the most constrained window at now: the one with
// fewer whole tokens left, the day window on a tie (every call charges both
// windows of a type alike, so that one blocks first).
func (m *meter) status(now time.Time) headers.Status {
	m.advance(now)
	pick := func(bs *[2]bucket) headers.WindowState {
		if bs[0].tokens() < bs[1].tokens() {
			return bs[0].state(now)
		}
		return bs[1].state(now)
	}
	return headers.Status{Requests: pick(&m.req), Complexity: pick(&m.cpx)}
}

// BucketLevel is one bucket's state, for inspection.
type BucketLevel struct {
	Limit  int64         `json:"limit"`   // capacity in tokens
	Tokens float64       `json:"tokens"`  // current level, with its fraction
	Full   time.Duration `json:"full_ns"` // time until full again
}

// Levels are a key's four buckets, for inspection.
type Levels struct {
	RequestsMinute   BucketLevel `json:"requests_minute"`   // request tokens, "minute" window
	RequestsDay      BucketLevel `json:"requests_day"`      // request tokens, "day" window
	ComplexityMinute BucketLevel `json:"complexity_minute"` // complexity tokens, "minute" window
	ComplexityDay    BucketLevel `json:"complexity_day"`    // complexity tokens, "day" window
}

func (m *meter) levels(now time.Time) Levels {
	m.advance(now)
	lv := func(b *bucket) BucketLevel {
		return BucketLevel{
			Limit:  b.limit,
			Tokens: float64(b.level) / float64(b.per),
			Full:   b.untilLevel(now, b.full()),
		}
	}
	return Levels{
		RequestsMinute: lv(&m.req[0]), RequestsDay: lv(&m.req[1]),
		ComplexityMinute: lv(&m.cpx[0]), ComplexityDay: lv(&m.cpx[1]),
	}
}

// take removes cost tokens from the bucket at once, stopping at empty.
func (b *bucket) take(cost int64) {
	cost = min(max(cost, 0), b.limit)
	b.level = max(0, b.level-cost*b.per)
}

// drain spends rc request and cc complexity tokens from both windows of
// each type, regardless of fit (each bucket stops at empty).
func (m *meter) drain(now time.Time, rc, cc int64) {
	m.advance(now)
	for i := range 2 {
		m.req[i].take(rc)
		m.cpx[i].take(cc)
	}
}
