// Package throttle keeps a local mirror of the Mem API's leaky buckets, so
// that callers spend every token the server allows and never trip a limit.
//
// A call reserves its whole cost (request tokens and complexity tokens, in
// the minute and day windows) at once, all or nothing, waiting when the
// buckets are short: by priority (WithPriority: interactive calls before
// default ones, default before batch, none starved), and in FIFO order
// within one (a later call may pass a waiting head within a bound on the
// head's delay, so that no bucket idles: see Throttle.Wait).
// Every response resynchronises the mirror from its X-RateLimit-* and
// X-Complexity-* headers; a rate-limit 429 pauses every caller until
// Retry-After has passed. Transport wraps an http.RoundTripper with all of
// this; Wait and Done are the same steps for other HTTP code.
//
// To call Mem, use the memclient package, which puts every call through a
// Throttle of its own (or one given with memclient.WithThrottle). This
// package alone serves other HTTP code:
//
//	th, err := throttle.New(throttle.DefaultPolicy())
//	if err != nil { ... }
//	hc := &http.Client{Transport: throttle.NewTransport(th, http.DefaultTransport)}
//
// The bucket math: a bucket of Limit tokens refills continuously at
// Limit/Period and never holds more than Limit. A call of cost c passes when
// every bucket holds at least its c, and takes c from each. From full
// buckets, N calls of cost c in a bucket of limit L therefore take
// max(0, N−⌊L/c⌋)·c·Period/L: 5 mem-it calls at once then one every 12 s.
//
// # What the mirror assumes of the network
//
// Only this: the server charges a call at some moment between its send and
// its answer (a bucket it holds full earns no refill until then); it may
// meter calls in another order than they were sent, and answers may come
// back in another order than they were metered; a response's Remaining is
// the floor of the level right after its call was metered, counting every
// call metered before it. So the mirror keeps a level that is at most the
// server's whatever the order and the latencies: a call is charged at
// admission, but a bucket's refill is not credited past its limit less the
// calls still in flight; no more than a bucket's capacity is ever in flight;
// and each answer narrows the level with what it proves (see Done and
// Reading), lowering it only on proof that someone else spent. Alone on its
// key, a client therefore never meets a rate-limit 429 and loses, per burst
// that takes a full bucket below its limit, at most the refill of one
// answer's latency. With other consumers on the key that do not share a
// Store, the drift reserve makes 429s rare, not impossible.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Throttle is the local mirror of one API key's buckets. Share one Throttle
// between all clients that use the same key in a process. It is safe for
// concurrent use.
type Throttle struct {
	policy Policy
	hooks  Hooks
	epoch  time.Time // origin of the monotonic clock the store sees

	mu    sync.Mutex
	store Store
	// mem is store when it is the in-memory one, called under mu, one
	// bucket operation at a time; nil for any other store, which the lane
	// calls without the lock.
	mem       *memoryStore
	lane      lane
	queue     queue // the calls waiting for tokens
	inflight  Cost  // admitted, not yet Done
	inflightN int
	capacity  Cost // per kind, the smallest bucket: the most that may be in flight
	charged   Cost // total cost of the calls Done so far that the server may have charged
	// lowerings counts the responses that proved another consumer spent
	// on the key: answers to calls sent before the last one may predate
	// that spending, and raise nothing.
	lowerings uint64
	stats     Stats
	drift     drift // what others spend on the key, as the resyncs show it
	// windowShown marks, per policy bucket, that an answer has shown its
	// window: the first to show one tells its level before the run.
	windowShown []bool
	seq         uint64 // admissions so far
	// measuresFrom is when price measurements may resume: an answer to a
	// call that was not alone in flight proved a spending nobody counted
	// on, maybe another consumer's, which would inflate them; they wait
	// the drift's horizon, unless a probe is on (see costBook and probe).
	measuresFrom time.Duration
	costs        costBook // what each route costs, as the headers show it
	// ownStore is false for a store shared with other processes: their
	// calls go between two answers unseen (the shared level knows them, so
	// nothing proves them), so such a throttle measures no price.
	ownStore bool

	// readBuf and movedBuf are Done's scratch space for the store's Answer
	// (at most two windows a kind), kept here so that Done does not
	// allocate: an interface call's arguments escape.
	readBuf  [4]BucketReading
	movedBuf [4]Moved
	// doneBuf and answerBuf hold the answer Done reads, with mu held: off
	// the caller's stack, which a fresh goroutine would have to grow.
	doneBuf   doneCall
	answerBuf Answer

	// flightFull records that a call waited because the calls in flight
	// filled a bucket's capacity: the next answer must wake the queue.
	flightFull bool

	// reserve is kept back from all but interactive calls while one has
	// come in the last reserveIdle (see WithReserve).
	reserve         Cost
	reserveIdle     time.Duration
	lastInteractive time.Duration
}

// backfillDelay bounds how far calls that pass a waiting head may delay it:
// to backfillDelay times the wait it had when it reached the head.
const backfillDelay = 2

// Option configures a Throttle.
type Option func(*Throttle)

// WithHooks installs callbacks for waits, resyncs and pauses (for progress
// displays and metrics).
func WithHooks(h Hooks) Option { return func(t *Throttle) { t.hooks = h } }

// WithMaxStarvation bounds how long the calls of one priority can be kept
// waiting by calls of the priorities served before it: a priority whose
// calls have waited d with none of them admitted goes first, until one is.
// The default is a sixth of the policy's shortest bucket period (10 s at
// Mem's limits). A stream of interactive calls thus delays batch work by at
// most d plus what its tokens take; d must be positive.
func WithMaxStarvation(d time.Duration) Option {
	return func(t *Throttle) {
		if d > 0 {
			t.queue.starve = d
		}
	}
}

// WithReserve keeps r tokens in every bucket for interactive calls: default
// and batch calls pass only when the buckets hold their cost plus r, so an
// interactive call usually goes at once even while an import drains the
// buckets. The reserve is held from New and after each interactive call,
// until no interactive call has come for idle; then the other calls may
// spend it, so it never sits unused for long. Choose idle longer than the
// usual gap between interactive calls, or the reserve is spent just before
// the next one comes. Holding it costs a batch the
// time r takes to refill, once, until it is released.
func WithReserve(r Cost, idle time.Duration) Option {
	return func(t *Throttle) { t.reserve, t.reserveIdle = r, idle }
}

// WithStore replaces the in-memory state with s (for example a store shared
// between processes). s must hold the buckets of the throttle's policy. A
// store other than NewMemoryStore's is called from one goroutine of the
// throttle's own, without its lock, which batches the work that comes in
// meanwhile (see Store).
func WithStore(s Store) Option { return func(t *Throttle) { t.store = s } }

// New returns a Throttle for policy p, with full buckets and in cold start:
// until a response carries rate headers, one call at a time is let through,
// so a process that starts after another has drained the key does not fire a
// burst into 429s. It fails when p is not valid (see Policy.Validate).
func New(p Policy, opts ...Option) (*Throttle, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t := &Throttle{
		policy:      Policy{Buckets: slices.Clone(p.Buckets), Cost: p.Cost},
		epoch:       time.Now(),
		capacity:    p.capacity(),
		drift:       newDrift(p),
		windowShown: make([]bool, len(p.Buckets)),
		queue:       queue{starve: p.shortestPeriod() / 6},
	}
	for _, o := range opts {
		o(t)
	}
	if t.store == nil {
		t.store = NewMemoryStore(t.policy)
	}
	t.mem, t.ownStore = t.store.(*memoryStore)
	t.lane.init(t.policy)
	return t, nil
}

// Policy returns the throttle's policy (a copy: changing it changes nothing).
func (t *Throttle) Policy() Policy {
	return Policy{Buckets: slices.Clone(t.policy.Buckets), Cost: t.policy.Cost}
}

// Cost prices a request by method and URL path: what the headers have shown
// that route to cost (see Transport), or else the policy's cost function.
func (t *Throttle) Cost(method, urlPath string) Cost {
	route := routeKey(method, urlPath)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.costs.costOf(route, t.policy.Cost(method, urlPath))
}

func (t *Throttle) now() time.Duration { return time.Since(t.epoch) }

// Ticket is an admitted call. Pass it to Done exactly once, when the response
// (or the failure) is known.
type Ticket struct {
	cost      Cost
	at        time.Duration // when the call was admitted, on the throttle's clock
	charged   Cost          // the throttle's charged total then
	lowerings uint64        // and its lowerings count
	seq       uint64        // the admission's number
	route     uint64        // the cost book's key, 0 if unknown
	alone     bool          // nothing else was in flight
}

// Cost returns what the ticket's call was charged.
func (tk Ticket) Cost() Cost { return tk.cost }

// DeadlineError is returned by Wait when the tokens would come only after the
// context's deadline. It wraps context.DeadlineExceeded and says how long the
// wait would have been.
type DeadlineError struct {
	Cost Cost          // what the call would have been charged
	Wait time.Duration // estimated wait, from when Wait was called
}

// Error says what the call costs and how long it would have waited.
func (e *DeadlineError) Error() string {
	return fmt.Sprintf("throttle: a call costing %d request and %d complexity tokens would wait %s, past the context deadline",
		e.Cost.Requests, e.Cost.Complexity, e.Wait.Round(time.Millisecond))
}

// Unwrap returns context.DeadlineExceeded, so errors.Is works as for a timeout.
func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// ErrClockBehind is returned by Wait when the clock reads a time before the
// Throttle was created. The monotonic clock a Throttle reads never goes
// back; a testing/synctest bubble's clock starts in 2000, so a Throttle
// created outside the bubble it is used in meets this at its first call.
// Create it (and a memclient.Client, which makes one) inside the bubble.
var ErrClockBehind = errors.New("throttle: the clock reads a time before the throttle was created (was it created outside the testing/synctest bubble it is used in?)")

// CostError is returned by Wait for a call that costs more than a bucket
// holds: it could never pass (the server would refuse it too).
type CostError struct {
	Cost     Cost // what the call costs
	Capacity Cost // per kind, the smallest bucket's limit
}

// Error says what the call costs and what the buckets hold.
func (e *CostError) Error() string {
	return fmt.Sprintf("throttle: a call costing %d request and %d complexity tokens exceeds the buckets' capacity (%d and %d)",
		e.Cost.Requests, e.Cost.Complexity, e.Capacity.Requests, e.Capacity.Complexity)
}
