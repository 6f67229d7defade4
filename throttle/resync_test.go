package throttle

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newSynced returns a throttle for p past its cold start: one call was
// answered with 99 requests left in the minute window.
func newSynced(tb testing.TB, p Policy) *Throttle {
	tb.Helper()
	th := newThrottle(tb, p)
	probe, err := th.Wait(context.Background(), plain)
	require.NoError(tb, err)
	limit := p.Buckets[0].Limit // requests/minute, as reported: the policy's own
	h := http.Header{}
	headers.Status{Requests: headers.WindowState{Window: headers.Minute, Limit: limit, Remaining: min(99, limit-1)}}.Write(h)
	th.Done(probe, Outcome{Responded: true, StatusCode: 200, Header: h})
	return th
}

// answer completes tk with a 200 reporting remaining requests in the minute window.
func answer(th *Throttle, tk Ticket, remaining int64) {
	th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(remaining)})
}

func rateHeader(remaining int64) http.Header {
	h := http.Header{}
	headers.Status{Requests: headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: remaining}}.Write(h)
	return h
}

// TestResyncAnswersOutOfOrderAloneOnTheKey: the server metered a burst as
// Remaining 120, 80, 40, 0 and the answers came back as 80, 120, 0, 40.
// Alone on the key, no answer proves anyone else spent, so nothing is
// lowered below what the server holds and no token is lost: the next
// mem-it goes exactly when the server has its 40 again.
func TestResyncAnswersOutOfOrderAloneOnTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(t, DefaultPolicy())
		var err error
		probe, err := th.Wait(t.Context(), memIt)
		require.NoError(t, err)
		answerComplexity(th, probe, 160)

		burst := make([]Ticket, 4)
		for i := range burst {
			burst[i], err = th.Wait(t.Context(), memIt)
			require.NoError(t, err)
		}
		for _, i := range []int{1, 0, 3, 2} { // metered in order 0..3, answered out of order
			answerComplexity(th, burst[i], 120-40*int64(i))
			assert.GreaterOrEqual(t, level(th, headers.Complexity, headers.Minute), 0.0, "never below what the server holds")
		}
		assert.InDelta(t, 0, level(th, headers.Complexity, headers.Minute), 1e-9)
		s := th.Snapshot()
		assert.Zero(t, s.Stats.Lowered, "no answer proves another consumer")
		assert.Equal(t, Cost{}, s.Reserve, "no drift reserve")

		start := time.Now()
		_, err = th.Wait(t.Context(), memIt)
		require.NoError(t, err)
		assert.Equal(t, 12*time.Second, time.Since(start), "the next mem-it when 40 tokens are back")
	})
}

// TestResyncChargedLateNeverTrips: the server charges a call when it
// arrives, after the uplink's latency, and its full bucket earns no refill
// until then. A mirror that charged at admission and refilled from then would
// admit the 6th mem-it 12 s after the burst's admission, 20 ms before the
// server has the tokens: a 429.
func TestResyncChargedLateNeverTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.server.uplink, r.server.latency = 20*time.Millisecond, 30*time.Millisecond
		code, err := r.call(t.Context(), plain) // the cold-start probe
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		time.Sleep(time.Second) // both full again

		var wg sync.WaitGroup
		for range 7 {
			wg.Go(func() {
				code, err := r.call(t.Context(), memIt)
				assert.NoError(t, err)
				assert.Equal(t, http.StatusOK, code)
			})
		}
		wg.Wait()
		assert.Zero(t, r.server.count(http.StatusTooManyRequests))
		got := r.arrivals()
		first := got[1]
		// The server's bucket left full when the burst arrived; the mirror
		// learns it only from the answers, 30 ms later: that is all it loses.
		assert.GreaterOrEqual(t, got[6]-first, 12*time.Second)
		assert.LessOrEqual(t, got[6]-first, 12*time.Second+50*time.Millisecond)
		assert.LessOrEqual(t, got[7]-got[6], 12*time.Second+50*time.Millisecond)
	})
}

// TestResyncAfterAnotherConsumerSpent: a response that proves another
// consumer spent lowers the level; an answer to a call sent before it may
// predate that spending and raises nothing (it may still lower); an answer
// to a call sent after it raises.
func TestResyncAfterAnotherConsumerSpent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newSynced(t, DefaultPolicy())

		older, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		newer, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		require.InDelta(t, 97, level(th, headers.Requests, headers.Minute), 1e-9)

		answer(th, newer, 50)
		assert.InDelta(t, 49, level(th, headers.Requests, headers.Minute), 1e-9, "50 minus the older call still in flight")
		answer(th, older, 90)
		assert.InDelta(t, 49, level(th, headers.Requests, headers.Minute), 1e-9, "sent before the proof: does not raise")

		third, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		fourth, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answer(th, fourth, 40)
		answer(th, third, 30)
		assert.InDelta(t, 29, level(th, headers.Requests, headers.Minute), 1e-9, "may lower: 30 less the fourth call, answered since")

		fifth, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answer(th, fifth, 80)
		assert.InDelta(t, 80, level(th, headers.Requests, headers.Minute), 1e-9, "sent after the last proof: raises")
		s := th.Snapshot()
		assert.Equal(t, uint64(3), s.Stats.Lowered)
		assert.Equal(t, uint64(1), s.Stats.Raised)
	})
}

func answerComplexity(th *Throttle, tk Ticket, remaining int64) {
	h := http.Header{}
	headers.Status{Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: remaining}}.Write(h)
	th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: h})
}

func TestResyncKeepsTheFractionWithinOneToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(t, DefaultPolicy())
		var err error
		for range 10 {
			tk, err := th.Wait(t.Context(), plain)
			require.NoError(t, err)
			answer(th, tk, 90)
		}
		time.Sleep(300 * time.Millisecond) // half a token
		tk, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answer(th, tk, 89)
		assert.InDelta(t, 89.5, level(th, headers.Requests, headers.Minute), 1e-9, "89.5 agrees with 89: kept")
	})
}

// TestTransportPassesBodiesThrough: the 429 body the transport peeks at
// reaches the caller whole, and request bodies reach the server.
func TestTransportPassesBodiesThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(t, DefaultPolicy())
		var err error
		quota := `{"error":{"type":"quota_exceeded","message":"` + strings.Repeat("x", 100<<10) + `"}}`
		var gotBody string
		base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(req.Body)
			gotBody = string(b)
			return &http.Response{StatusCode: 429, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(quota)), Request: req}, nil
		})
		c := &http.Client{Transport: NewTransport(th, base)}
		resp, err := c.Post("https://api.mem.ai/v2/notes", "application/json", strings.NewReader(`{"content":"hi"}`))
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, quota, string(b))
		assert.Equal(t, `{"content":"hi"}`, gotBody)
		// Over 64 KiB the peek cannot decode it: taken for a rate limit, paused.
		assert.Equal(t, uint64(1), th.Snapshot().Stats.RateLimited)

		small := `{"error":{"type":"quota_exceeded","message":"no"}}`
		base2 := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 429, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(small)), Request: req}, nil
		})
		resp, err = (&http.Client{Transport: NewTransport(th, base2)}).Get("https://api.mem.ai/v2/notes")
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		assert.Equal(t, small, string(b))
		assert.Equal(t, uint64(1), th.Snapshot().Stats.QuotaExceeded)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestResyncReorderedArrivalDoesNotRaiseTooFar: calls admitted in one order
// can reach the server in another. A and B are admitted in that order; the
// server counts B (98 left), then A (97 left); A's answer arrives first. B's
// answer, the newer call, says 98, but A has been counted since: the server
// holds 97, and the mirror must not believe more.
func TestResyncReorderedArrivalDoesNotRaiseTooFar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newSynced(t, DefaultPolicy())
		a, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		b, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answer(th, a, 97)
		answer(th, b, 98)
		assert.InDelta(t, 97, level(th, headers.Requests, headers.Minute), 1e-9)
	})
}
