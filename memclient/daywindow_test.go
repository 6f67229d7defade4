package memclient

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestDayWindowFirstShownIsNotDrift: on a key used earlier the same day,
// the answers show the minute window (it has fewer tokens) until the day
// window runs lower; the 429 that first shows the day window told a level
// the client had never seen, and the drift estimate took the thousands of
// tokens spent before the run for another consumer's spending: its reserve
// (50 tokens) held the next mem-it until the day window held 90, about
// 10 minutes, where 40 come in under a minute. A window's first reading is
// the key's state, not drift.
func TestDayWindowFirstShownIsNotDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		require.True(t, srv.Spend(mock.DefaultKey, 0, 7770)) // earlier today
		time.Sleep(time.Minute)                              // the minute window is full again; the day window holds about 235
		start := time.Now()
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				_, _, err := c.MemIt(t.Context(), &MemItRequest{Input: "notes"})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		var last time.Time
		n429 := 0
		for _, e := range srv.Journal() {
			if e.Status == http.StatusTooManyRequests {
				n429++
			}
			last = e.Time
		}
		assert.LessOrEqual(t, n429, 1, "the day window is learned from one refusal")
		// The 6th mem-it can go when the day window holds 40 again: about
		// 48 s after the burst (35.6 tokens left, 8,000 a day).
		assert.Less(t, last.Sub(start), 60*time.Second, "the 6th mem-it went at %v", last.Sub(start))
		t.Logf("the 6th mem-it went at %v, %d 429s", last.Sub(start), n429)
	})
}
