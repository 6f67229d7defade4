package throttle

import (
	"net/http"
	"testing"
	"time"
)

func TestBucketUnits(t *testing.T) {
	for _, tc := range []struct {
		b                 Bucket
		tick              time.Duration
		perToken, perTick int64
	}{
		// 100 a minute: 6e10 ns per 100 tokens, gcd 100.
		{Bucket{Limit: 100, Period: time.Minute}, time.Nanosecond, 600_000_000, 1},
		// 4000 a day on a µs clock: 8.64e10 µs, gcd 4000.
		{Bucket{Limit: 4000, Period: 24 * time.Hour}, time.Microsecond, 21_600_000, 1},
		// 3 tokens in 1.5 µs on a µs clock: the period rounds up to 2 ticks.
		{Bucket{Limit: 3, Period: 1500 * time.Nanosecond}, time.Microsecond, 2, 3},
		// 6 tokens in 4 ticks: lowest terms 2/3.
		{Bucket{Limit: 6, Period: 4 * time.Second}, time.Second, 2, 3},
	} {
		q, r := tc.b.Units(tc.tick)
		if q != tc.perToken || r != tc.perTick {
			t.Errorf("%v.Units(%v) = %d, %d; want %d, %d", tc.b, tc.tick, q, r, tc.perToken, tc.perTick)
		}
	}
}

func TestPolicyMaxCost(t *testing.T) {
	if got, want := DefaultPolicy().MaxCost(), (Cost{Requests: 1, Complexity: MemItComplexity}); got != want {
		t.Errorf("DefaultPolicy().MaxCost() = %+v, want %+v", got, want)
	}
	free := Policy{Buckets: DefaultPolicy().Buckets, Cost: func(string, string) Cost { return Cost{} }}
	if got, want := free.MaxCost(), (Cost{Requests: 1, Complexity: 1}); got != want {
		t.Errorf("MaxCost of a free policy = %+v, want at least one token of each kind %+v", got, want)
	}
	search := Policy{Cost: func(method, path string) Cost {
		if method == http.MethodPost && path == "/v2/notes/search" {
			return Cost{Requests: 2, Complexity: 7}
		}
		return Cost{Requests: 1, Complexity: 1}
	}}
	if got, want := search.MaxCost(), (Cost{Requests: 2, Complexity: 7}); got != want {
		t.Errorf("MaxCost with a dear search = %+v, want %+v", got, want)
	}
}
