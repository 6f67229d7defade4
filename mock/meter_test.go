package mock

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
)

func memItBody() map[string]any { return map[string]any{"input": "# hello\nworld"} }

func TestMeterMemItBurstThenEvery12s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		for i := range 5 {
			resp, b := tc.do("POST", "/v2/mem-it", memItBody())
			require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i+1, b)
		}
		resp, b := tc.do("POST", "/v2/mem-it", memItBody())
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		e := requireEnvelope(t, b, ErrTypeRateLimitExceeded)
		assert.Equal(t, "complexity", e["details"].(map[string]any)["limit_type"])
		assert.Equal(t, "minute", e["details"].(map[string]any)["window"])
		assert.Equal(t, "12", resp.Header.Get("Retry-After"))
		assert.Equal(t, 1, tc.s.Count429())

		time.Sleep(12*time.Second - time.Millisecond)
		resp, _ = tc.do("POST", "/v2/mem-it", memItBody())
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "one ms early")
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))

		time.Sleep(time.Millisecond)
		resp, _ = tc.do("POST", "/v2/mem-it", memItBody())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Len(t, tc.s.Notes(DefaultKey), 6, "refused calls stored nothing")
	})
}

func TestMeterCost1BurstThenEvery600ms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		for i := range 100 {
			resp, b := tc.do("GET", "/v2/notes", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i+1, b)
		}
		resp, b := tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		e := requireEnvelope(t, b, ErrTypeRateLimitExceeded)
		assert.Equal(t, "requests", e["details"].(map[string]any)["limit_type"])
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		assert.Equal(t, "0", resp.Header.Get(headers.RateLimitRemaining))
		assert.Equal(t, "minute", resp.Header.Get(headers.RateLimitBucket))

		time.Sleep(599 * time.Millisecond)
		resp, _ = tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		time.Sleep(time.Millisecond)
		resp, _ = tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)

		// Refused calls were not charged: the journal shows 0 cost for them.
		var refused int
		for _, e := range tc.s.Journal() {
			if e.Status == http.StatusTooManyRequests {
				refused++
				assert.Zero(t, e.RequestCost)
				assert.Zero(t, e.ComplexityCost)
			}
		}
		assert.Equal(t, 2, refused)
	})
}

func TestMeterComplexityDayWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Minute windows out of the way: only the day windows bind.
		tc := newClient(t, Config{Limits: Limits{RequestsPerMinute: 100000, ComplexityPerMinute: 100000}})
		for i := range 200 {
			resp, b := tc.do("POST", "/v2/mem-it", memItBody())
			require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i+1, b)
		}
		resp, b := tc.do("POST", "/v2/mem-it", memItBody())
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		d := requireEnvelope(t, b, ErrTypeRateLimitExceeded)["details"].(map[string]any)
		assert.Equal(t, "complexity", d["limit_type"])
		assert.Equal(t, "day", d["window"])
		// 40 tokens at 8000 per 86400 s: 432 s.
		assert.Equal(t, "432", resp.Header.Get("Retry-After"))
		assert.Equal(t, "day", resp.Header.Get(headers.ComplexityBucket))
		assert.Equal(t, "0", resp.Header.Get(headers.ComplexityRemaining))
		assert.Equal(t, "8000", resp.Header.Get(headers.ComplexityLimit))
		assert.Equal(t, "86400", resp.Header.Get(headers.ComplexityReset))

		// The complexity day bucket is empty: a cost-1 call waits for one
		// token, 10.8 s.
		resp, _ = tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Equal(t, "11", resp.Header.Get("Retry-After"))
		time.Sleep(432 * time.Second)
		resp, _ = tc.do("POST", "/v2/mem-it", memItBody())
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

func TestMeterRequestsDayWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Limits: Limits{RequestsPerMinute: 100000, ComplexityPerMinute: 100000, ComplexityPerDay: 100000}})
		for range 4000 {
			resp, _ := tc.do("GET", "/v2/collections", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		resp, b := tc.do("GET", "/v2/collections", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		d := requireEnvelope(t, b, ErrTypeRateLimitExceeded)["details"].(map[string]any)
		assert.Equal(t, "requests", d["limit_type"])
		assert.Equal(t, "day", d["window"])
		assert.Equal(t, "22", resp.Header.Get("Retry-After")) // 21.6 s rounded up
	})
}

func TestHeadersNameMostConstrainedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		resp, _ := tc.do("GET", "/v2/notes", nil)
		st, err := headers.Parse(resp.Header)
		require.NoError(t, err)
		assert.Equal(t, headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 99, Reset: time.Second}, st.Requests)
		assert.Equal(t, headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 199, Reset: time.Second}, st.Complexity)

		resp, _ = tc.do("POST", "/v2/mem-it", memItBody())
		st, err = headers.Parse(resp.Header)
		require.NoError(t, err)
		assert.Equal(t, int64(98), st.Requests.Remaining)
		assert.Equal(t, headers.Minute, st.Complexity.Window)
		assert.Equal(t, int64(159), st.Complexity.Remaining)
		// 41 tokens at 200/60s: 12.3 s, rounded up.
		assert.Equal(t, 13*time.Second, st.Complexity.Reset)

		// Remaining is the floor of the level: 0.3 s later the complexity
		// minute bucket holds 160 tokens, 0.2 s later still 160 (160.67).
		time.Sleep(300 * time.Millisecond)
		lv, ok := tc.s.Levels(DefaultKey)
		require.True(t, ok)
		assert.InDelta(t, 160.0, lv.ComplexityMinute.Tokens, 1e-9)
	})
}

func TestHeadersTieGoesToDay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Day windows equal to the minute ones: a tie.
		tc := newClient(t, Config{Limits: Limits{RequestsPerDay: 100, ComplexityPerDay: 150}})
		resp, _ := tc.do("GET", "/v2/notes", nil)
		st, err := headers.Parse(resp.Header)
		require.NoError(t, err)
		assert.Equal(t, headers.Day, st.Requests.Window, "tie")
		assert.Equal(t, int64(99), st.Requests.Remaining)
		assert.Equal(t, headers.Day, st.Complexity.Window, "fewer left in the day window")
		assert.Equal(t, int64(149), st.Complexity.Remaining)
		assert.Equal(t, 576*time.Second, st.Complexity.Reset) // 1 token at 150/86400s
	})
}

func TestHeadersOnErrorsAndNotOn401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		resp, _ := tc.do("GET", "/v2/notes/not-a-uuid", nil)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		assert.Equal(t, "99", resp.Header.Get(headers.RateLimitRemaining), "invalid input is charged")

		resp, _ = tc.as("wrong").do("GET", "/v2/notes", nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Empty(t, resp.Header.Get(headers.RateLimitRemaining))
		lv, _ := tc.s.Levels(DefaultKey)
		assert.InDelta(t, 99.0, lv.RequestsMinute.Tokens, 1e-9, "401 charged nothing")
	})
}

func TestMeterConfigurablePeriods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Limits: Limits{RequestsPerMinute: 10, Minute: time.Second}})
		for range 10 {
			resp, _ := tc.do("GET", "/v2/notes", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		resp, _ := tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		time.Sleep(100 * time.Millisecond)
		resp, _ = tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

func TestKeysHaveOwnBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Keys: []string{"a", "b"}, Limits: Limits{RequestsPerMinute: 2}})
		a, b := tc.as("a"), tc.as("b")
		a.ok("GET", "/v2/notes", nil)
		a.ok("GET", "/v2/notes", nil)
		a.fail(http.StatusTooManyRequests, ErrTypeRateLimitExceeded, "GET", "/v2/notes", nil)
		b.ok("GET", "/v2/notes", nil)
	})
}

func TestLimitsValidation(t *testing.T) {
	_, err := New(Config{Limits: Limits{RequestsPerMinute: -1}})
	assert.Error(t, err)
	_, err = New(Config{Limits: Limits{RequestsPerDay: 1 << 50}})
	assert.Error(t, err)
	_, err = New(Config{Faults: Faults{ErrorRate: 2}})
	assert.Error(t, err)
	_, err = New(Config{Keys: []string{""}})
	assert.Error(t, err)
}

func TestBucketArithmetic(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(headers.Minute, 3, time.Second, t0) // 1 token per 333,333.33 µs
	b.level = 0
	assert.Equal(t, 333334*time.Microsecond, b.wait(t0, 1))
	b.advance(t0.Add(333333 * time.Microsecond))
	assert.Equal(t, int64(0), b.tokens())
	assert.False(t, b.fits(1))
	b.advance(t0.Add(333334 * time.Microsecond))
	assert.True(t, b.fits(1))
	// Time going backwards changes nothing.
	b.advance(t0)
	assert.True(t, b.fits(1))
	// Sub-µs elapsed time is not lost.
	b2 := newBucket(headers.Minute, 1, time.Second, t0)
	b2.level = 0
	for i := 1; i <= 2000; i++ {
		b2.advance(t0.Add(time.Duration(i) * 500 * time.Microsecond))
	}
	assert.Equal(t, int64(1), b2.tokens())
	// A cost above capacity never fits.
	assert.False(t, b2.fits(2))
}

// TestMeterConcurrentCallers: from full buckets, of 150 concurrent calls
// exactly 100 are admitted, and the 50 refused cost nothing.
func TestMeterConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		codes := make(chan int, 150)
		for range 150 {
			go func() {
				resp, _ := tc.do("GET", "/v2/notes", nil)
				codes <- resp.StatusCode
			}()
		}
		counts := map[int]int{}
		for range 150 {
			counts[<-codes]++
		}
		assert.Equal(t, map[int]int{200: 100, 429: 50}, counts)
		assert.Equal(t, 50, tc.s.Count429())
		lv, _ := tc.s.Levels(DefaultKey)
		assert.InDelta(t, 0.0, lv.RequestsMinute.Tokens, 1e-9)
		assert.InDelta(t, 3900.0, lv.RequestsDay.Tokens, 1e-9)
	})
}

func TestSpendDrainsAKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		assert.False(t, tc.s.Spend("nobody", 1, 1))
		require.True(t, tc.s.Spend(DefaultKey, 3990, 7990))
		lv, _ := tc.s.Levels(DefaultKey)
		assert.InDelta(t, 0.0, lv.RequestsMinute.Tokens, 1e-9, "stops at empty")
		assert.InDelta(t, 10.0, lv.RequestsDay.Tokens, 1e-9)
		assert.InDelta(t, 10.0, lv.ComplexityDay.Tokens, 1e-9)
		resp, _ := tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		time.Sleep(600 * time.Millisecond)
		resp, _ = tc.do("GET", "/v2/notes", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		// Complexity: the minute window regained 2 tokens in 0.6 s, the day
		// window a fraction: 1 vs 9 after the call.
		assert.Equal(t, "minute", resp.Header.Get(headers.ComplexityBucket))
		assert.Equal(t, "1", resp.Header.Get(headers.ComplexityRemaining))
		assert.Len(t, tc.s.Journal(), 2, "Spend is not journaled")
	})
}
