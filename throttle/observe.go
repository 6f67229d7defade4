package throttle

import (
	"context"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Hooks are optional callbacks, called after the throttle's lock is released
// and on the goroutine of the call concerned. Keep them quick.
type Hooks struct {
	// OnWait is called when a call had to queue, once it is admitted.
	OnWait func(WaitEvent)
	// OnResync is called when a response moved a bucket's level.
	OnResync func(ResyncEvent)
	// OnPause is called when a rate-limit 429 pauses every caller until the time given.
	OnPause func(until time.Time)
	// OnStoreError is called when a store other than the in-memory one
	// failed (see Store.Exchange), from the throttle's goroutine that calls
	// the store.
	OnStoreError func(error)
}

// WaitEvent says that a call waited for tokens before it was admitted.
type WaitEvent struct {
	Cost     Cost          // what the call was charged
	Priority Priority      // the priority it waited at (see WithPriority)
	Waited   time.Duration // from its call to Wait to its admission
}

// ResyncEvent says that a response moved one bucket's level.
type ResyncEvent struct {
	Kind      headers.Kind   // the bucket's kind: requests or complexity
	Window    headers.Window // the bucket's window: minute or day
	Remaining int64          // what the server reported
	Before    float64        // the local level before
	After     float64        // and after
}

// Stats counts what a throttle has done since it was created.
type Stats struct {
	Admitted         uint64        // calls let through
	Waits            uint64        // calls that had to queue first
	Backfilled       uint64        // queued calls that passed a waiting head (see Throttle.Wait)
	WaitTime         time.Duration // total time spent queued
	Cancelled        uint64        // waits ended by their context
	DeadlineFailures uint64        // waits refused at once: they would pass the deadline
	Lowered          uint64        // resyncs that lowered a level (someone else spends on the key)
	Raised           uint64        // resyncs that raised a level
	MalformedHeaders uint64        // responses whose rate headers were malformed (ignored)
	RateLimited      uint64        // rate-limit 429s seen
	Pauses           uint64        // pauses those 429s imposed
	QuotaExceeded    uint64        // quota 429s seen (no pause)
	LimitsAdopted    uint64        // bucket limits changed to what a response reported
	StoreErrors      uint64        // store calls that failed (see Store.Exchange; the in-memory store never fails)
}

// Snapshot is the throttle's state at one instant.
type Snapshot struct {
	At          time.Time     // when the snapshot was taken
	Buckets     []BucketState // one per bucket of the policy, in its order
	PausedUntil time.Time     // zero, or in the past, when no pause is in force
	// Probing is true during cold start: no response has told the real
	// levels yet, so calls go one at a time.
	Probing  bool
	InFlight int // calls admitted and not yet Done
	Queued   int // calls waiting for tokens
	// Queue counts them by priority.
	Queue QueueLengths
	// Reserve is what a call now needs on top of its cost, for what other
	// consumers of the key have probably spent since the last response
	// (default and batch calls also leave the interactive reserve while it
	// is held: see WithReserve).
	Reserve Cost
	// Stats are the throttle's counters at the snapshot.
	Stats Stats
}

// Snapshot returns the current state of every bucket, the pause, the probe
// and the counters. It allocates; call it for display, not per request.
// With a remote store it reads the store's state without holding the
// throttle's lock (one round trip for a shared store).
func (t *Throttle) Snapshot() Snapshot {
	wallNow := time.Now()
	now := wallNow.Sub(t.epoch)
	remote, ok := t.remoteState(now)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stateLocked(now, remote, ok) // its Buckets are a new slice each time
	for i := range st.Buckets {
		st.Buckets[i].Shown = i < len(t.windowShown) && t.windowShown[i]
	}
	s := Snapshot{
		At:       wallNow,
		Buckets:  st.Buckets,
		Probing:  !st.Synced,
		InFlight: t.inflightN,
		Queued:   t.queue.len(),
		Queue:    t.queue.lengths(),
		Reserve:  t.drift.reserve(now),
		Stats:    t.stats,
	}
	if st.PausedUntil > 0 {
		s.PausedUntil = t.epoch.Add(st.PausedUntil)
	}
	return s
}

// remoteState asks a remote store for its state, without the lock; false
// for the in-memory store, or when the store failed.
func (t *Throttle) remoteState(now time.Duration) (StoreState, bool) {
	if t.mem != nil {
		return StoreState{}, false
	}
	st, err := t.store.State(context.Background(), now)
	if err != nil {
		t.mu.Lock()
		t.stats.StoreErrors++
		t.mu.Unlock()
		return StoreState{}, false
	}
	return st, true
}

// stateLocked returns the store's state: remote if ok, else the in-memory
// store's, or the remote store's as the lane last saw it. t.mu is held.
func (t *Throttle) stateLocked(now time.Duration, remote StoreState, ok bool) StoreState {
	if ok {
		return remote
	}
	buckets, paused, _ := t.levels(now)
	return StoreState{Buckets: buckets, PausedUntil: paused, Synced: t.synced()}
}

// Calls is part of a planned workload: N calls of one cost.
type Calls struct {
	N    int  // how many calls
	Cost Cost // what each of them costs
}

// Estimate returns the earliest time from now by which the planned workload,
// run in order after the calls already queued, can be admitted in full,
// given the buckets' current levels and any pause: the bucket math, exactly,
// assuming nobody else spends on the key. Cold start is not counted.
func (t *Throttle) Estimate(plan ...Calls) time.Duration {
	now := t.now()
	remote, ok := t.remoteState(now)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.estimateLocked(t.stateLocked(now, remote, ok), now, t.queuedCosts(), plan...)
}

func (t *Throttle) estimateLocked(st StoreState, now time.Duration, queued []Cost, plan ...Calls) time.Duration {
	bs := make([]bucket, len(st.Buckets))
	for i, s := range st.Buckets {
		bs[i] = newBucket(s.Bucket, 0)
		bs[i].scaled = int64(s.Level * float64(bs[i].q))
	}
	start := max(0, st.PausedUntil-now)
	return simulate(t.policy.Buckets, bs, start, queued, plan)
}

// Optimum returns the shortest time in which any client can have the planned
// workload admitted, starting from full buckets: the bound every throttle is
// measured against.
func (p Policy) Optimum(plan ...Calls) time.Duration {
	bs := make([]bucket, len(p.Buckets))
	for i, b := range p.Buckets {
		bs[i] = newBucket(b, 0)
	}
	return simulate(p.Buckets, bs, 0, nil, plan)
}

// simulate admits the queued costs and then the plan, in order, each as soon
// as every bucket holds its cost, starting at start with the buckets' clocks
// at 0, and returns when the last one is admitted.
func simulate(defs []Bucket, bs []bucket, start time.Duration, queued []Cost, plan []Calls) time.Duration {
	now := start
	admit := func(c Cost) {
		var wait time.Duration
		for i := range bs {
			bs[i].advance(now)
			wait = max(wait, bs[i].waitFor(c.Of(defs[i].Kind)))
		}
		now += wait
		for i := range bs {
			bs[i].advance(now)
			bs[i].take(c.Of(defs[i].Kind))
		}
	}
	for _, c := range queued {
		admit(c)
	}
	for _, p := range plan {
		for range p.N {
			admit(p.Cost)
		}
	}
	return now
}
