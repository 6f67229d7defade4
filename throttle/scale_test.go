package throttle

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingStore counts the Takes that reach the store: with a shared store
// each one is a network round trip.
type countingStore struct {
	Store
	mu    sync.Mutex
	takes int
}

func (s *countingStore) Take(now time.Duration, c, headroom Cost, passing bool) time.Duration {
	s.mu.Lock()
	s.takes++
	s.mu.Unlock()
	return s.Store.Take(now, c, headroom, passing)
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takes
}

// TestQueueingAsksTheStoreOncePerCost: n calls queue behind a drained
// request bucket. Each arrival wakes the head of the line, which looks for
// calls that may pass it; calls that cost what one that did not fit costs
// are passed over without asking the store, so queueing costs O(n) Takes,
// not n²/2.
func TestQueueingAsksTheStoreOncePerCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &countingStore{Store: NewMemoryStore(DefaultPolicy())}
		th, err := New(DefaultPolicy(), WithStore(store))
		require.NoError(t, err)
		for range 100 { // drain the minute's requests
			tk, err := th.Wait(t.Context(), plain)
			require.NoError(t, err)
			th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: rateHeader(0)})
		}
		const n = 1000
		ctx, cancel := context.WithCancel(t.Context())
		before := store.count()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { _, _ = th.Wait(ctx, plain) })
			synctest.Wait() // queued, and the head has looked
		}
		takes := store.count() - before
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
			store := &countingStore{Store: NewMemoryStore(DefaultPolicy())}
			th, err := New(DefaultPolicy(), WithStore(store))
			require.NoError(t, err)
			th.mu.Lock()
			th.store.MarkSynced()
			th.store.Take(th.now(), Cost{Requests: 100, Complexity: 200}, Cost{}, false)
			th.mu.Unlock()
			before := store.count()
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
			perCall[n] = float64(store.count()-before) / float64(n)
			t.Logf("n=%d: %.2f Takes per admitted call", n, perCall[n])
		})
	}
	assert.Less(t, perCall[3000], 6.0)
	assert.Less(t, perCall[3000], 1.5*perCall[100])
}
