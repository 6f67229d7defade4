package mock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
)

// outcome is what a client saw for one call, for comparing runs.
func outcomes(t *testing.T, seed uint64, n int) []string {
	var out []string
	synctest.Test(t, func(t *testing.T) {
		s := MustNew(Config{Seed: seed, Limits: Limits{RequestsPerMinute: 10000, ComplexityPerMinute: 10000},
			Faults: Faults{ErrorRate: 0.2, ResetRate: 0.1, LostRate: 0.1, MissingHeadersRate: 0.1, GarbledHeadersRate: 0.1, LatencyJitter: time.Second}})
		c := s.Client()
		for range n {
			start := time.Now()
			req, _ := http.NewRequest("GET", "http://mem.test/v2/notes", nil)
			req.Header.Set("Authorization", "Bearer "+DefaultKey)
			resp, err := c.Do(req)
			o := time.Since(start).String() + " "
			if err != nil {
				o += "error"
			} else {
				resp.Body.Close()
				_, perr := headers.Parse(resp.Header)
				o += resp.Status + " " + resp.Header.Get(headers.RateLimitRemaining)
				if perr != nil {
					o += " garbled"
				}
			}
			out = append(out, o)
		}
	})
	return out
}

func TestFaultsReproducibleWithSeed(t *testing.T) {
	a, b := outcomes(t, 42, 200), outcomes(t, 42, 200)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, outcomes(t, 43, 200))
	joined := strings.Join(a, "\n")
	for _, want := range []string{"error", "500", "502", "503", "200 OK", "garbled", "200 OK \n"} {
		assert.Contains(t, joined, want)
	}
}

func TestFailNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		tc.s.FailNext("POST", "/v2/notes", 2, FaultServerError)
		tc.s.FailNext("", "/v2/notes/{note_id}", 1, FaultMissingHeaders)

		tc.fail(503, ErrTypeInternal, "POST", "/v2/notes", map[string]any{"content": "x"})
		tc.fail(503, ErrTypeInternal, "POST", "/v2/notes", map[string]any{"content": "x"})
		assert.Empty(t, tc.s.Notes(DefaultKey), "a 5xx is not processed")
		id := tc.ok("POST", "/v2/notes", map[string]any{"content": "x"})["id"].(string)

		resp, _ := tc.do("GET", "/v2/notes/"+id, nil)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Empty(t, resp.Header.Get(headers.RateLimitBucket))
		resp, _ = tc.do("GET", "/v2/notes/"+id, nil)
		assert.Equal(t, "minute", resp.Header.Get(headers.RateLimitBucket))

		// Lost: processed, charged, the client sees a reset.
		tc.s.FailNext("POST", "/v2/mem-it", 1, FaultLost)
		req, _ := http.NewRequest("POST", "http://mem.test/v2/mem-it", strings.NewReader(`{"input":"once"}`))
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		_, err := tc.c.Do(req)
		require.Error(t, err)
		assert.True(t, errors.Is(err, syscall.ECONNRESET))
		var ie *InjectedError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, FaultLost, ie.Fault)
		assert.Len(t, tc.s.Notes(DefaultKey), 2, "the write happened")
		j := tc.s.Journal()
		last := j[len(j)-1]
		assert.Equal(t, "lost", last.Fault)
		assert.EqualValues(t, 40, last.ComplexityCost)

		// Reset: not processed, not charged.
		tc.s.FailNext("POST", "/v2/mem-it", 1, FaultReset)
		before, _ := tc.s.Levels(DefaultKey)
		req, _ = http.NewRequest("POST", "http://mem.test/v2/mem-it", strings.NewReader(`{"input":"never"}`))
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		_, err = tc.c.Do(req)
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, FaultReset, ie.Fault)
		after, _ := tc.s.Levels(DefaultKey)
		assert.Equal(t, before.ComplexityMinute.Tokens, after.ComplexityMinute.Tokens)
		assert.Len(t, tc.s.Notes(DefaultKey), 2)

		// Injected 429, and Retry-After as a date.
		require.NoError(t, tc.s.SetFaults(Faults{RetryAfterDate: true}))
		tc.s.FailNext("GET", "/v2/notes", 1, FaultRateLimit)
		resp, _ = tc.do("GET", "/v2/notes", nil)
		assert.Equal(t, 429, resp.StatusCode)
		assert.Equal(t, "Sat, 01 Jan 2000 00:00:01 GMT", resp.Header.Get("Retry-After"))
		d, ok, err := headers.ParseRetryAfter(resp.Header, time.Now())
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, time.Second, d)

		tc.s.FailNext("GET", "/v2/notes", 1, FaultGarbledHeaders)
		resp, _ = tc.do("GET", "/v2/notes", nil)
		_, err = headers.Parse(resp.Header)
		assert.Error(t, err)
	})
}

func TestLatencyHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Faults: Faults{Latency: 2 * time.Second}})
		start := time.Now()
		tc.ok("GET", "/v2/notes", nil)
		assert.Equal(t, 2*time.Second, time.Since(start))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://mem.test/v2/notes", strings.NewReader(`{"content":"x"}`))
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		_, err := tc.c.Do(req)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Empty(t, tc.s.Notes(DefaultKey), "abandoned before processing")
	})
}

func TestNoisyNeighbour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The neighbour spends one request token every second.
		tc := newClient(t, Config{Faults: Faults{Neighbour: &Neighbour{Interval: time.Second}}})
		time.Sleep(10 * time.Second)
		lv, _ := tc.s.Levels(DefaultKey)
		// It refills faster (1.67/s) than the neighbour spends, so each
		// second the bucket is full again before the next spend: 99 left
		// right after the spend at 10 s.
		assert.InDelta(t, 99.0, lv.RequestsMinute.Tokens, 1e-9)
		assert.InDelta(t, 3990.0+9*4000.0/86400, lv.RequestsDay.Tokens, 1e-6) // full until the first spend at 1 s
		// Faster than the refill: the bucket drains to empty.
		require.NoError(t, tc.s.SetFaults(Faults{Neighbour: &Neighbour{Interval: 100 * time.Millisecond}}))
		time.Sleep(5 * time.Minute)
		resp, _ := tc.do("GET", "/v2/notes", nil)
		assert.Equal(t, 429, resp.StatusCode)
		j := tc.s.Journal()
		assert.Len(t, j, 1, "the neighbour's calls are not in the journal")
	})
}

func TestJournalRedactsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const secret = "sk-very-secret-123"
		tc := newClient(t, Config{Keys: []string{secret}}).as(secret)
		tc.ok("GET", "/v2/notes", nil)
		e := tc.s.Journal()[0]
		assert.Equal(t, Key(secret), e.Key)
		for _, s := range []string{e.String(), e.Key.String()} {
			assert.NotContains(t, s, secret)
		}
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			assert.NotContains(t, sprintf(f, e), secret, f)
			assert.NotContains(t, sprintf(f, e.Key), secret, f)
			assert.NotContains(t, sprintf(f, &e), secret, f)
		}
		b, err := jsonMarshal(e)
		require.NoError(t, err)
		assert.NotContains(t, string(b), secret)
		assert.Contains(t, string(b), e.Key.Redacted())
	})
}

func TestCostAboveCapacityNeverFits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Limits: Limits{ComplexityPerMinute: 20}})
		for range 2 {
			e := tc.fail(429, ErrTypeRateLimitExceeded, "POST", "/v2/mem-it", map[string]any{"input": "x"})
			assert.Contains(t, e["message"], "costs more than the bucket holds")
			time.Sleep(time.Hour)
		}
		tc.ok("GET", "/v2/notes", nil)
	})
}

func TestResetAndFaultAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Seed: 5})
		tc.ok("POST", "/v2/notes", map[string]any{"content": "x"})
		tc.s.FailNext("GET", "/v2/notes", 1, FaultServerError)
		require.Error(t, tc.s.SetFaults(Faults{LostRate: -1}))
		tc.s.Reset()
		assert.Empty(t, tc.s.Notes(DefaultKey))
		assert.Empty(t, tc.s.Journal())
		lv, _ := tc.s.Levels(DefaultKey)
		assert.InDelta(t, 100.0, lv.RequestsMinute.Tokens, 1e-9)
		tc.ok("GET", "/v2/notes", nil) // the pending rule was cleared
		for f := FaultServerError; f <= FaultRateLimit; f++ {
			g, err := ParseFault(f.String())
			require.NoError(t, err)
			assert.Equal(t, f, g)
		}
		_, err := ParseFault("nope")
		assert.Error(t, err)
		assert.Equal(t, "Fault(99)", Fault(99).String())
		assert.Equal(t, "", Key("").Redacted())
		j := tc.s.Faults().JSON()
		f, err := j.Faults()
		require.NoError(t, err)
		assert.Equal(t, tc.s.Faults(), f)
	})
}

// TestResponseLatency checks the downlink delay against the journal: a call
// is metered after the uplink latency and answered the response latency
// later, and a context that ends in between finds the call charged and
// processed.
func TestResponseLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Faults: Faults{Latency: 100 * time.Millisecond, ResponseLatency: 300 * time.Millisecond}})
		start := time.Now()
		tc.ok("GET", "/v2/notes", nil)
		answered := time.Now()
		j := tc.s.Journal()
		require.Len(t, j, 1)
		assert.Equal(t, 100*time.Millisecond, j[0].Time.Sub(start), "metered after the uplink")
		assert.Equal(t, 300*time.Millisecond, answered.Sub(j[0].Time), "answered after the downlink")

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://mem.test/v2/notes", strings.NewReader(`{"content":"x"}`))
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		_, err := tc.c.Do(req)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, tc.s.Notes(DefaultKey), 1, "processed before the response was abandoned")
		j = tc.s.Journal()
		require.Len(t, j, 2)
		assert.Equal(t, 200, j[1].Status)
		assert.EqualValues(t, 1, j[1].RequestCost, "charged")
	})
}

// TestResponseJitterReorders sends calls one after another, 10 ms apart, with
// jitter on both directions, and checks from the journal and the arrival
// times that they were metered out of send order and answered out of meter
// order, each answer between its metering and metering + the largest
// downlink delay.
func TestResponseJitterReorders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		s := MustNew(Config{Seed: 3, Faults: Faults{LatencyJitter: 100 * time.Millisecond,
			ResponseLatency: 10 * time.Millisecond, ResponseJitter: 100 * time.Millisecond}})
		c := s.Client()
		answered := make([]time.Time, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// An unknown note (404, metered all the same) whose id
				// carries the send index.
				req, _ := http.NewRequest("GET", fmt.Sprintf("http://mem.test/v2/notes/00000000-0000-4000-8000-%012d", i), nil)
				req.Header.Set("Authorization", "Bearer "+DefaultKey)
				resp, err := c.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				resp.Body.Close()
				answered[i] = time.Now()
			})
			time.Sleep(10 * time.Millisecond)
		}
		wg.Wait()
		j := s.Journal()
		require.Len(t, j, n)
		var metered []int // send index, in meter order
		meterTime := make([]time.Time, n)
		for _, e := range j {
			i, err := strconv.Atoi(strings.TrimPrefix(e.Path, "/v2/notes/00000000-0000-4000-8000-"))
			require.NoError(t, err, e.Path)
			metered = append(metered, i)
			meterTime[i] = e.Time
		}
		byAnswer := slices.Clone(metered)
		slices.SortStableFunc(byAnswer, func(a, b int) int { return answered[a].Compare(answered[b]) })
		assert.False(t, slices.IsSorted(metered), "metered in send order: %v", metered)
		assert.NotEqual(t, metered, byAnswer, "answered in meter order")
		for i := range n {
			d := answered[i].Sub(meterTime[i])
			assert.True(t, d >= 10*time.Millisecond && d < 110*time.Millisecond, "call %d answered %v after metering", i, d)
		}
	})
}

// TestResponseJitterKeepsFaultSequence checks that turning on the downlink
// delay leaves the random faults a seed draws as they were.
func TestResponseJitterKeepsFaultSequence(t *testing.T) {
	statuses := func(f Faults) []string {
		var out []string
		synctest.Test(t, func(t *testing.T) {
			s := MustNew(Config{Seed: 42, Limits: Limits{RequestsPerMinute: 10000, ComplexityPerMinute: 10000}, Faults: f})
			for range 100 {
				req, _ := http.NewRequest("GET", "http://mem.test/v2/notes", nil)
				req.Header.Set("Authorization", "Bearer "+DefaultKey)
				resp, err := s.Client().Do(req)
				if err != nil {
					out = append(out, "error")
					continue
				}
				resp.Body.Close()
				out = append(out, resp.Status)
			}
		})
		return out
	}
	f := Faults{ErrorRate: 0.2, ResetRate: 0.1, LostRate: 0.1, LatencyJitter: time.Second}
	before := statuses(f)
	f.ResponseLatency, f.ResponseJitter = time.Second, time.Second
	assert.Equal(t, before, statuses(f))
}
