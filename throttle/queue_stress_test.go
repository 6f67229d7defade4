package throttle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestQueueUnderRandomLoad throws seeded random loads at the queue: callers
// of every priority and both costs, some with deadlines, some that give up
// while they wait, with or without a reserve, behind a server with latency.
// A wake the queue loses shows as a deadlock, which synctest reports; and
// alone on its key the throttle must meet no 429, let through exactly the
// calls the server saw, and end with nothing queued or in flight.
func TestQueueUnderRandomLoad(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { randomLoad(t, seed) })
		})
	}
}

func randomLoad(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var opts []Option
	if rng.IntN(2) == 0 {
		opts = append(opts, WithReserve(Cost{Requests: int64(rng.IntN(5)), Complexity: int64(rng.IntN(50))}, time.Duration(rng.IntN(60))*time.Second))
	}
	if rng.IntN(2) == 0 {
		opts = append(opts, WithMaxStarvation(time.Duration(1+rng.IntN(30))*time.Second))
	}
	r := newRig(t, opts...)
	r.server.uplink = time.Duration(rng.IntN(50)) * time.Millisecond
	r.server.latency = time.Duration(rng.IntN(200)) * time.Millisecond

	type plan struct {
		priority Priority
		cost     Cost
		think    time.Duration // before the call
		giveUp   time.Duration // cancel the call after this long (0: never)
		deadline time.Duration // the context's deadline (0: none)
	}
	callers := 10 + rng.IntN(30)
	plans := make([][]plan, callers)
	for i := range plans {
		for range 5 + rng.IntN(15) {
			p := plan{priority: Priority(rng.IntN(3)), cost: plain, think: time.Duration(rng.IntN(5000)) * time.Millisecond}
			if rng.IntN(8) == 0 {
				p.cost = memIt
			}
			switch rng.IntN(10) {
			case 0:
				p.giveUp = time.Duration(1+rng.IntN(20_000)) * time.Millisecond
			case 1:
				p.deadline = time.Duration(1+rng.IntN(60_000)) * time.Millisecond
			}
			plans[i] = append(plans[i], p)
		}
	}

	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for _, calls := range plans {
		wg.Go(func() {
			for _, p := range calls {
				time.Sleep(p.think)
				ctx, cancel := context.WithCancel(WithPriority(t.Context(), p.priority))
				if p.deadline > 0 {
					ctx, cancel = context.WithTimeout(ctx, p.deadline)
				}
				if p.giveUp > 0 {
					time.AfterFunc(p.giveUp, cancel)
				}
				code, err := r.call(ctx, p.cost)
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				assert.Equal(t, http.StatusOK, code)
				ok.Add(1)
			}
		})
	}
	wg.Wait()

	s := r.th.Snapshot()
	assert.Zero(t, r.server.count(http.StatusTooManyRequests), "alone on the key")
	assert.Equal(t, int(ok.Load()), len(r.server.entries()), "every call admitted reached the server")
	assert.Equal(t, uint64(ok.Load()), s.Stats.Admitted)
	assert.Equal(t, uint64(failed.Load()), s.Stats.Cancelled+s.Stats.DeadlineFailures)
	assert.Zero(t, s.Queued)
	assert.Zero(t, s.InFlight)
	assert.Positive(t, ok.Load())
	t.Logf("%d callers: %d calls done, %d gave up; %s of virtual time; %+v", callers, ok.Load(), failed.Load(), time.Since(r.start).Round(time.Second), s.Stats)
}
