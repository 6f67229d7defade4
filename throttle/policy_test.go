package throttle

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultPolicyIsMemsPublishedNumbers(t *testing.T) {
	p := DefaultPolicy()
	require.NoError(t, p.Validate())
	want := map[headers.Kind]map[headers.Window]int64{
		headers.Requests:   {headers.Minute: 100, headers.Day: 4000},
		headers.Complexity: {headers.Minute: 200, headers.Day: 8000},
	}
	require.Len(t, p.Buckets, 4)
	for _, b := range p.Buckets {
		assert.Equal(t, want[b.Kind][b.Window], b.Limit, "%v", b)
		period := map[headers.Window]time.Duration{headers.Minute: time.Minute, headers.Day: 24 * time.Hour}[b.Window]
		assert.Equal(t, period, b.Period)
	}
}

func TestMemCostMatchesMemItWherever(t *testing.T) {
	for _, path := range []string{
		"/v2/mem-it", "/v2/mem-it/", "v2/mem-it", "/proxy/mem/v2/mem-it", "/v2/./mem-it",
		"/v2/mem-it?x=1", "/v2//mem-it",
	} {
		assert.Equal(t, memIt, MemCost(http.MethodPost, path), path)
	}
	for _, path := range []string{
		"/v2/notes", "/v2/mem-items", "/v1/mem-it", "/v2/mem-it/extra", "/v2/notes?next=/v2/mem-it", "/",
	} {
		assert.Equal(t, plain, MemCost(http.MethodPost, path), path)
	}
	assert.Equal(t, plain, MemCost(http.MethodGet, "/v2/mem-it"), "only POST is a mem-it")
}

func TestPolicyValidate(t *testing.T) {
	mutate := func(f func(*Policy)) Policy {
		p := DefaultPolicy()
		p.Buckets = append([]Bucket(nil), p.Buckets...)
		f(&p)
		return p
	}
	for name, p := range map[string]Policy{
		"no buckets":         mutate(func(p *Policy) { p.Buckets = nil }),
		"no cost":            mutate(func(p *Policy) { p.Cost = nil }),
		"zero limit":         mutate(func(p *Policy) { p.Buckets[0].Limit = 0 }),
		"negative period":    mutate(func(p *Policy) { p.Buckets[1].Period = -time.Second }),
		"unknown window":     mutate(func(p *Policy) { p.Buckets[1].Window = "hour" }),
		"duplicate bucket":   mutate(func(p *Policy) { p.Buckets[1].Window = headers.Minute }),
		"cost over capacity": mutate(func(p *Policy) { p.Buckets[2].Limit = 39 }),
		"overflow":           mutate(func(p *Policy) { p.Buckets[1].Limit, p.Buckets[1].Period = 1<<50+1, 1<<40 }),
		"negative cost": mutate(func(p *Policy) {
			p.Cost = func(string, string) Cost { return Cost{Requests: -1, Complexity: 1} }
		}),
	} {
		assert.Error(t, p.Validate(), name)
		_, err := New(p)
		assert.Error(t, err, name)
	}
	fast := mutate(func(p *Policy) { p.Buckets[0].Period = time.Second })
	assert.NoError(t, fast.Validate(), "a minute that lasts a second is fine")
	big := mutate(func(p *Policy) { p.Buckets[1].Limit = 1_000_000_000 })
	assert.NoError(t, big.Validate(), "a billion a day is fine")
}

// TestWithWindowsMatchesAFastServer: against a server whose minute lasts a
// second, a throttle with the default policy waits as if it lasted a
// minute (the headers do not tell window lengths); WithWindows paces calls
// as the server refills, with no 429.
func TestWithWindowsMatchesAFastServer(t *testing.T) {
	fast := DefaultPolicy().WithWindows(time.Second, 24*time.Second)
	for _, b := range fast.Buckets {
		want := map[headers.Window]time.Duration{headers.Minute: time.Second, headers.Day: 24 * time.Second}[b.Window]
		assert.Equal(t, want, b.Period, "%v", b)
	}
	assert.Equal(t, time.Minute, DefaultPolicy().Buckets[0].Period, "the receiver is not changed")
	sevenMemIts := func(t *testing.T, p Policy) time.Duration {
		th, err := New(p)
		require.NoError(t, err)
		client := &http.Client{Transport: NewTransport(th, newLawServer(fast))}
		start := time.Now()
		for range 7 {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://mem.test/v2/mem-it", nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		return time.Since(start)
	}
	synctest.Test(t, func(t *testing.T) {
		assert.Equal(t, 400*time.Millisecond, sevenMemIts(t, fast), "5 at once, then one per 0.2 s")
		assert.GreaterOrEqual(t, sevenMemIts(t, DefaultPolicy()), 12*time.Second, "paced as if the minute lasted a minute")
	})
}
