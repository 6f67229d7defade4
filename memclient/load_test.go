package memclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// worker runs ops mixed calls on its own note and collection: a create of
// each, a membership, one mem-it, and reads, updates, lists and searches.
// It returns how many mem-its it made and the first error. With
// tolerateMemIt, a mem-it that ends in a *RateLimitError is counted in
// limited and the worker goes on.
func worker(ctx context.Context, c *Client, g, ops int, tolerateMemIt bool) (memits, limited int, err error) {
	var note *Note
	var col *Collection
	for i := range ops {
		switch {
		case i == 0:
			note, _, err = c.Notes.Create(ctx, &CreateNoteRequest{Content: fmt.Sprintf("Load %d\nload test words %d", g, g)})
		case i == 1:
			col, _, err = c.Collections.Create(ctx, &CreateCollectionRequest{Title: fmt.Sprintf("Load %d", g)})
		case i == 2:
			_, err = c.Collections.AddNote(ctx, col.ID, note.ID)
		case i == ops/2:
			_, _, err = c.MemIt(ctx, &MemItRequest{Input: fmt.Sprintf("load mem-it %d", g)})
			var rl *RateLimitError
			if tolerateMemIt && errors.As(err, &rl) {
				limited++
				err = nil
			} else {
				memits++
			}
		default:
			switch i % 7 {
			case 0:
				_, _, err = c.Notes.Get(ctx, note.ID)
			case 1:
				note, _, err = c.Notes.Update(ctx, note.ID, &UpdateNoteRequest{Content: fmt.Sprintf("Load %d\nedit %d", g, i), Version: note.Version})
			case 2:
				_, _, err = c.Notes.List(ctx, &ListNotesOptions{Limit: 5})
			case 3:
				_, _, err = c.Notes.Search(ctx, &SearchNotesRequest{Query: "load", Limit: 5})
			case 4:
				_, _, err = c.Collections.List(ctx, &ListCollectionsOptions{Limit: 5})
			case 5:
				_, _, err = c.Notes.Related(ctx, note.ID, 3)
			case 6:
				_, _, err = c.Collections.Get(ctx, col.ID)
			}
		}
		if err != nil {
			return memits, limited, fmt.Errorf("worker %d op %d: %w", g, i, err)
		}
	}
	return memits, limited, nil
}

// TestSixtyFourGoroutinesForAnHour runs 64 goroutines of mixed calls, 4160
// in all, with Mem's real limits: the day request bucket sets the pace, so
// the workload takes about an hour of virtual time. The throttle must keep
// the mock from ever answering 429 and finish within 1% of the bucket-math
// optimum.
func TestSixtyFourGoroutinesForAnHour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		const goroutines, ops = 64, 65
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		memits := make(chan int, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				m, _, err := worker(t.Context(), c, g, ops, false)
				memits <- m
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		close(memits)
		for err := range errs {
			require.NoError(t, err)
		}
		total := 0
		for m := range memits {
			total += m
		}
		require.Equal(t, goroutines, total)

		cheap := throttle.Calls{N: goroutines*ops - total, Cost: throttle.Cost{Requests: 1, Complexity: 1}}
		dear := throttle.Calls{N: total, Cost: throttle.Cost{Requests: 1, Complexity: throttle.MemItComplexity}}
		p := throttle.DefaultPolicy()
		optimum := min(p.Optimum(cheap, dear), p.Optimum(dear, cheap))
		efficiency := optimum.Seconds() / elapsed.Seconds()
		t.Logf("%d calls (%d mem-it) by %d goroutines: %v; optimum %v; efficiency %.4f; 429s %d; throttle %+v",
			goroutines*ops, total, goroutines, elapsed.Round(time.Millisecond), optimum.Round(time.Millisecond),
			efficiency, srv.Count429(), c.Throttle().Snapshot().Stats)
		assert.Zero(t, srv.Count429(), "the mock answered 429")
		assert.Greater(t, optimum, 50*time.Minute, "a virtual hour, roughly")
		assert.LessOrEqual(t, elapsed.Seconds(), optimum.Seconds()*1.01, "within 1%% of the optimum")
		assert.Len(t, srv.Notes(mock.DefaultKey), goroutines*2, "a note and a mem-it each")
	})
}

// TestNoisyNeighbour shares the key with another consumer that spends a
// request and a complexity token every 2 s, unseen by the client's throttle:
// the client resyncs from the headers, keeps a reserve for the neighbour's
// drift (see throttle's drift estimate), keeps working and loses nothing.
// Some 429s remain (the neighbour spends in steps the headers reveal only
// afterwards); the test logs how many and bounds them at 3% of the calls sent.
func TestNoisyNeighbour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{Faults: mock.Faults{Neighbour: &mock.Neighbour{Interval: 2 * time.Second}}})
		const goroutines, ops = 16, 65
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		var mu sync.Mutex
		memits, limited := 0, 0
		for g := range goroutines {
			wg.Go(func() {
				m, l, err := worker(t.Context(), c, g, ops, true)
				if err != nil {
					errs <- err
				}
				mu.Lock()
				memits, limited = memits+m, limited+l
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "every call but mem-it succeeds")
		}
		calls := 0
		for _, e := range srv.Journal() {
			if e.Status != 0 {
				calls++
			}
		}
		st := c.Throttle().Snapshot().Stats
		t.Logf("noisy neighbour: %d client calls (%d sent) in %v, 429s %d (%.2f%% of sent), resyncs lowered %d, pauses %d; mem-its done %d, refused after retries %d",
			goroutines*ops, calls, time.Since(start).Round(time.Millisecond), srv.Count429(),
			100*float64(srv.Count429())/float64(calls), st.Lowered, st.Pauses, memits, limited)
		assert.Len(t, srv.Notes(mock.DefaultKey), goroutines+memits, "nothing lost, nothing doubled")
		assert.LessOrEqual(t, srv.Count429(), calls*3/100, "429s stay rare")
		assert.Zero(t, limited, "no mem-it gave up")
	})
}
