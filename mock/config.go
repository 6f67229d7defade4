package mock

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultKey is the API key a server accepts when Config.Keys is empty.
const DefaultKey = "test-key"

// DefaultMaxBodyBytes is the request body cap when Config.MaxBodyBytes is 0.
// It leaves room for a 1,000,000-character mem-it input in 4-byte runes.
const DefaultMaxBodyBytes = 4 << 20

// DefaultJournalSize is how many journal entries a server keeps when
// Config.JournalSize is 0.
const DefaultJournalSize = 10000

// Limits are the numbers of the four leaky buckets each key gets. A zero
// field takes its default (Mem's published numbers, see DefaultLimits), so
// Limits{Minute: time.Second} is Mem's limits with a minute that lasts a
// second.
//
// A bucket of capacity L and period P refills continuously at L/P tokens and
// holds at most L. The meter counts in microseconds, so L × P (in µs) must stay
// below 2^61: about 26 million tokens for a 24 h period, 38 billion for a
// minute.
type Limits struct {
	RequestsPerMinute   int64 // request tokens per Minute (default 100)
	RequestsPerDay      int64 // request tokens per Day (default 4000)
	ComplexityPerMinute int64 // complexity tokens per Minute (default 200)
	ComplexityPerDay    int64 // complexity tokens per Day (default 8000)

	Minute time.Duration // period of the "minute" windows (default 1m)
	Day    time.Duration // period of the "day" windows (default 24h)

	// MemItComplexity is the complexity cost of POST /v2/mem-it (default
	// 40); every other call costs 1. A cost above a complexity bucket's
	// capacity never fits: such calls always get 429.
	MemItComplexity int64

	// Costs prices endpoints by ServeMux-style pattern, "METHOD /path" with
	// {name} wildcards ("POST /v2/notes/search", "GET /v2/notes/{id}"; the
	// wildcards' names do not matter). An endpoint without an entry keeps
	// its default (1 and 1; MemItComplexity for mem-it), and an entry's zero
	// field keeps that field's default; an entry for POST /v2/mem-it
	// overrides MemItComplexity. A pattern that no API route serves stands
	// for an endpoint Mem has added: calls to it are charged its price and
	// answered 200 with an empty JSON object. Two patterns for the same
	// endpoint, negative costs, patterns that are not a method and a path
	// of literal and {name} segments, or new patterns that ServeMux finds in
	// conflict, are invalid.
	Costs map[string]Cost
}

// DefaultLimits returns Mem's published limits: 100 requests per minute and
// 4000 per day, 200 complexity tokens per minute and 8000 per day, mem-it
// costing 40.
func DefaultLimits() Limits {
	return Limits{
		RequestsPerMinute:   100,
		RequestsPerDay:      4000,
		ComplexityPerMinute: 200,
		ComplexityPerDay:    8000,
		Minute:              time.Minute,
		Day:                 24 * time.Hour,
		MemItComplexity:     40,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	setDef := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	setDef(&l.RequestsPerMinute, d.RequestsPerMinute)
	setDef(&l.RequestsPerDay, d.RequestsPerDay)
	setDef(&l.ComplexityPerMinute, d.ComplexityPerMinute)
	setDef(&l.ComplexityPerDay, d.ComplexityPerDay)
	setDef(&l.MemItComplexity, d.MemItComplexity)
	if l.Minute == 0 {
		l.Minute = d.Minute
	}
	if l.Day == 0 {
		l.Day = d.Day
	}
	return l
}

// maxUnits bounds limit × period (µs) so that sums of a few levels never
// overflow int64.
const maxUnits = math.MaxInt64 / 4

func (l Limits) validate() error {
	var errs []error
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"Minute", l.Minute}, {"Day", l.Day}} {
		if p.d < time.Microsecond {
			errs = append(errs, fmt.Errorf("mock: Limits.%s: period %v is below 1µs", p.name, p.d))
		}
	}
	for _, b := range []struct {
		name   string
		n      int64
		period time.Duration
	}{
		{"RequestsPerMinute", l.RequestsPerMinute, l.Minute},
		{"RequestsPerDay", l.RequestsPerDay, l.Day},
		{"ComplexityPerMinute", l.ComplexityPerMinute, l.Minute},
		{"ComplexityPerDay", l.ComplexityPerDay, l.Day},
	} {
		us := int64(b.period / time.Microsecond)
		switch {
		case b.n < 0:
			errs = append(errs, fmt.Errorf("mock: Limits.%s is negative", b.name))
		case us > 0 && b.n > maxUnits/us:
			errs = append(errs, fmt.Errorf("mock: Limits.%s: %d tokens per %v is too large for the meter", b.name, b.n, b.period))
		}
	}
	if l.MemItComplexity < 0 {
		errs = append(errs, errors.New("mock: Limits.MemItComplexity is negative"))
	}
	return errors.Join(errs...)
}

// Quota is a per-key allowance of note creations (POST /v2/mem-it and
// POST /v2/notes) per period, Mem's usage quota. Past it those calls get the
// spec's 429 quota_exceeded body. The zero value (Allowance 0) means no quota.
type Quota struct {
	// Allowance is how many notes a key may create per Period; 0 disables
	// the quota.
	Allowance int64
	// Period is how long an allowance lasts, counted from the server's start
	// (or last Reset); default 30 days.
	Period time.Duration
	// Plan is reported as details.current_plan; default "free".
	Plan string
}

// Config configures a Server. The zero value is a server that accepts
// DefaultKey with Mem's published limits, no quota and no faults.
type Config struct {
	// Keys are the API keys the server accepts (Authorization: Bearer KEY).
	// Empty means []string{DefaultKey}.
	Keys []string
	// Limits are the buckets' numbers; zero fields take Mem's defaults.
	Limits Limits
	// Quota is the optional note-creation allowance.
	Quota Quota
	// Faults are injected into responses; the zero value injects none.
	Faults Faults
	// Seed seeds the random faults, so that a sequential run repeats.
	Seed uint64
	// MaxBodyBytes caps request bodies (413 past it); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// JournalSize is how many journal entries are kept (the oldest are
	// dropped); 0 means DefaultJournalSize.
	JournalSize int
	// Observe, if set, is called with every journal entry as it is
	// recorded, outside the server's locks, on the goroutine serving the
	// call (so concurrently for concurrent calls). The key in the entry
	// prints redacted.
	Observe func(Entry)
}

func (c Config) normalize() (Config, error) {
	if len(c.Keys) == 0 {
		c.Keys = []string{DefaultKey}
	}
	for _, k := range c.Keys {
		if k == "" {
			return c, errors.New("mock: Config.Keys holds an empty key")
		}
	}
	c.Limits = c.Limits.withDefaults()
	if err := c.Limits.validate(); err != nil {
		return c, err
	}
	if c.Quota.Allowance < 0 {
		return c, errors.New("mock: Quota.Allowance is negative")
	}
	if c.Quota.Period <= 0 {
		c.Quota.Period = 30 * 24 * time.Hour
	}
	if c.Quota.Plan == "" {
		c.Quota.Plan = "free"
	}
	if err := c.Faults.validate(); err != nil {
		return c, err
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.JournalSize <= 0 {
		c.JournalSize = DefaultJournalSize
	}
	return c, nil
}
