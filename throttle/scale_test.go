package throttle

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// takes counts the bucket checks that reached th's in-memory store: with a
// shared store each would be a network round trip.
func takes(th *Throttle) int {
	th.mu.Lock()
	defer th.mu.Unlock()
	return th.mem.takes
}

// TestQueueingAsksTheStoreOncePerCost: n calls queue behind a drained
// request bucket. Each arrival wakes the head of the line, which looks for
// calls that may pass it; calls that cost what one that did not fit costs
// are passed over without asking the store, so queueing costs O(n) Takes,
// not n²/2.
func TestQueueingAsksTheStoreOncePerCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy())
		require.NoError(t, err)
		for range 100 { // drain the minute's requests
			tk, err := th.Wait(t.Context(), plain)
			require.NoError(t, err)
			th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(0)})
		}
		const n = 1000
		ctx, cancel := context.WithCancel(t.Context())
		before := takes(th)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { _, _ = th.Wait(ctx, plain) })
			synctest.Wait() // queued, and the head has looked
		}
		takes := takes(th) - before
		t.Logf("%d calls queued: %d Takes", n, takes)
		assert.Less(t, takes, 4*n)
		cancel()
		wg.Wait()
	})
}

// TestDrainingAsksTheStoreAFewTimesPerCall: n callers behind drained
// minute buckets, 1% of them mem-its at the head, all served to the end:
// the store is asked a few times per admitted call, however long the queue
// (each wake asks only the first call of each line of equal costs).
func TestDrainingAsksTheStoreAFewTimesPerCall(t *testing.T) {
	perCall := map[int]float64{}
	for _, n := range []int{100, 3000} {
		synctest.Test(t, func(t *testing.T) {
			th, err := New(DefaultPolicy())
			require.NoError(t, err)
			th.mu.Lock()
			th.mem.synced = true
			th.mem.take(th.now(), Cost{Requests: 100, Complexity: 200}, Cost{})
			th.mu.Unlock()
			before := takes(th)
			var wg sync.WaitGroup
			for i := range n {
				c := plain
				if i < n/100 {
					c = memIt
				}
				wg.Go(func() {
					tk, err := th.Wait(t.Context(), c)
					if assert.NoError(t, err) {
						th.Done(tk, Outcome{})
					}
				})
				synctest.Wait() // in this order
			}
			wg.Wait()
			perCall[n] = float64(takes(th)-before) / float64(n)
			t.Logf("n=%d: %.2f Takes per admitted call", n, perCall[n])
		})
	}
	assert.Less(t, perCall[3000], 6.0)
	assert.Less(t, perCall[3000], 1.5*perCall[100])
}
