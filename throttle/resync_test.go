package throttle

import (
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

func rateHeader(remaining int64) http.Header {
	h := http.Header{}
	headers.Status{Requests: headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: remaining}}.Write(h)
	return h
}

func TestResyncOutOfOrderMayLowerNeverRaise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
		probe, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(probe, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(99)})

		older, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		newer, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		require.InDelta(t, 97, level(th, headers.Requests, headers.Minute), 1e-9)

		th.Done(newer, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(50)})
		assert.InDelta(t, 49, level(th, headers.Requests, headers.Minute), 1e-9, "50 minus the older call still in flight")
		th.Done(older, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(90)})
		assert.InDelta(t, 49, level(th, headers.Requests, headers.Minute), 1e-9, "an older response does not raise")

		third, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		fourth, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(fourth, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(40)})
		th.Done(third, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(30)})
		assert.InDelta(t, 30, level(th, headers.Requests, headers.Minute), 1e-9, "an older response may lower")

		fifth, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(fifth, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(80)})
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
			th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(90)})
		}
		time.Sleep(300 * time.Millisecond) // half a token
		tk, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(89)})
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
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
		probe, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(probe, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(99)})
		a, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		b, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		th.Done(a, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(97)})
		th.Done(b, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(98)})
		assert.InDelta(t, 97, level(th, headers.Requests, headers.Minute), 1e-9)
	})
}
