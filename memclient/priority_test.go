package memclient

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// TestPriorityRidesOnTheContext: a memclient call made with a priority on
// its context waits at that priority (the hooks say so), and a search made
// after an import's calls queued goes before them.
func TestPriorityRidesOnTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var waits []throttle.Priority
		th, err := throttle.New(throttle.DefaultPolicy(), throttle.WithHooks(throttle.Hooks{OnWait: func(e throttle.WaitEvent) {
			mu.Lock()
			waits = append(waits, e.Priority)
			mu.Unlock()
		}}))
		require.NoError(t, err)
		_, c := newMock(t, mock.Config{}, WithThrottle(th))
		for range 100 { // spend the minute's requests
			_, _, err := c.Notes.List(bg, nil)
			require.NoError(t, err)
		}
		batch := throttle.WithPriority(bg, throttle.Batch)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				_, _, err := c.Notes.Create(batch, &CreateNoteRequest{Content: "# imported"})
				assert.NoError(t, err)
			})
		}
		synctest.Wait()
		require.Equal(t, throttle.QueueLengths{Batch: 3}, th.Snapshot().Queue)
		_, _, err = c.Notes.Search(throttle.WithPriority(bg, throttle.Interactive), &SearchNotesRequest{Query: "imported"})
		require.NoError(t, err)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []throttle.Priority{throttle.Interactive, throttle.Batch, throttle.Batch, throttle.Batch}, waits)
	})
}
