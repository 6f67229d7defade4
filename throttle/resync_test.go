package throttle

import (
	"context"
	"io"
	"net/http"
	"strings"
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
	th, err := New(p)
	require.NoError(tb, err)
	probe, err := th.Wait(context.Background(), plain)
	require.NoError(tb, err)
	answer(th, probe, 99)
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

func TestResyncOutOfOrderMayLowerNeverRaise(t *testing.T) {
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
		assert.InDelta(t, 49, level(th, headers.Requests, headers.Minute), 1e-9, "an older response does not raise")

		third, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		fourth, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answer(th, fourth, 40)
		answer(th, third, 30)
		assert.InDelta(t, 30, level(th, headers.Requests, headers.Minute), 1e-9, "an older response may lower")

		fifth, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answer(th, fifth, 80)
		assert.InDelta(t, 80, level(th, headers.Requests, headers.Minute), 1e-9, "a newer one raises")
		s := th.Snapshot()
		assert.Equal(t, uint64(3), s.Stats.Lowered)
		assert.Equal(t, uint64(1), s.Stats.Raised)
	})
}

func TestResyncKeepsTheFractionWithinOneToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
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
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
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
