package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

// importCalls follows an import's calls from their start to their end, and
// knows of each whether it is in the network: sent, and not answered with a
// rate-limit 429 (which the server did not process). A call that is not
// waits for tokens, or between two attempts, and can be cancelled with no
// doubt about its outcome: that is how the import stops cleanly at the day
// limit, and how an interrupted run counts the waits it cut short.
//
// With a day stop (--stop-at-day-limit) it also decides which calls may
// start: none that would wait for a day window rather than a minute window,
// judged from the levels the throttle has learnt so far (see dayBinds).
// Safe for concurrent use.
type importCalls struct {
	mu   sync.Mutex
	live map[*callState]struct{}
	// cut are the waits of the calls that ended before they were sent (the
	// throttle counts only the waits that end in an admission).
	cut []waitSpan

	// The day stop, when th is set.
	th      *throttle.Throttle
	cost    throttle.Cost // one import call
	stopped string        // why no call may start any more ("": they may)
}

// callState is one call in progress.
type callState struct {
	ic      *importCalls
	cancel  context.CancelFunc
	sending bool      // in the network: may have been processed
	since   time.Time // when it last started to wait (not sending); zero: a wait not counted
	// intent, when set, is journalled before each attempt leaves (see
	// sendIntent).
	intent *sendIntent
}

type waitSpan struct{ start, end time.Time }

type callStateKey struct{}

// newImportCalls follows the calls of an import.
func newImportCalls() *importCalls {
	return &importCalls{live: map[*callState]struct{}{}}
}

// stopAtDayLimit turns the day stop on: no call of cost c starts that th's
// levels say would wait for a day window.
func (ic *importCalls) stopAtDayLimit(th *throttle.Throttle, c throttle.Cost) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.th, ic.cost = th, c
}

// begin starts a call: it returns the context to make it with, and its
// state for end. It reports false, and starts nothing, once the day stop has
// tripped or when this call would trip it.
func (ic *importCalls) begin(parent context.Context) (context.Context, *callState, bool) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.stopped != "" {
		return nil, nil, false
	}
	if reason := ic.dayBindsLocked(ic.waitingLocked() + 1); reason != "" {
		ic.stopLocked(reason)
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(parent)
	st := &callState{ic: ic, cancel: cancel, since: time.Now()}
	ic.live[st] = struct{}{}
	return context.WithValue(ctx, callStateKey{}, st), st, true
}

// end finishes a call begun by begin. A call that ends while not in the
// network counts its last wait as cut short (unless since is zero: see
// callState.notSent).
func (ic *importCalls) end(st *callState) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	delete(ic.live, st)
	st.cancel()
	if !st.sending && !st.since.IsZero() {
		ic.cut = append(ic.cut, waitSpan{st.since, time.Now()})
	}
}

// cutWaits returns the waits of the calls that ended before they were
// sent: their sum, and as intervals.
func (ic *importCalls) cutWaits() (time.Duration, []waitSpan) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	var sum time.Duration
	for _, sp := range ic.cut {
		sum += sp.end.Sub(sp.start)
	}
	return sum, slices.Clone(ic.cut)
}

// stopOnRateLimit trips the day stop, when it is on, for a call refused
// for the rate limit (unprocessed, with a wait too long to retry: a day
// window is spent), and reports whether it did: the call is then not
// attempted rather than failed.
func (ic *importCalls) stopOnRateLimit(err error) bool {
	var rl *memclient.RateLimitError
	if !errors.As(err, &rl) {
		return false
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.th == nil {
		return false
	}
	ic.stopLocked(describe(err) + ": a day window is used up")
	return true
}

// stoppedBecause says why the day stop tripped ("" if it did not).
func (ic *importCalls) stoppedBecause() string {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	return ic.stopped
}

// recheck trips the day stop when the calls already waiting for tokens
// would now wait for a day window: a response has shown that a day window
// holds less than the mirror thought (another process spent on the key,
// or the run started on a partly used day). The throttle calls it after
// each resync and each pause (see throttle.Hooks).
func (ic *importCalls) recheck() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.th == nil || ic.stopped != "" {
		return
	}
	if reason := ic.dayBindsLocked(max(1, ic.waitingLocked())); reason != "" {
		ic.stopLocked(reason)
	}
}

func (ic *importCalls) stopLocked(reason string) {
	if ic.stopped == "" {
		ic.stopped = reason
	}
	for st := range ic.live {
		if !st.sending {
			st.cancel()
		}
	}
}

// waitingLocked counts the calls begun and not in the network: those the
// buckets must still find tokens for.
func (ic *importCalls) waitingLocked() int {
	n := 0
	for st := range ic.live {
		if !st.sending {
			n++
		}
	}
	return n
}

// dayBindsLocked says why n calls of the import's cost, on top of the
// levels the throttle holds now, would wait longer for a day window than
// for the minute windows ("" when they would not, or without a day stop).
func (ic *importCalls) dayBindsLocked(n int) string {
	if ic.th == nil {
		return ""
	}
	b, ok := dayBinds(ic.th.Snapshot(), n, ic.cost)
	if !ok {
		return ""
	}
	return fmt.Sprintf("the %s day window has %d of %d tokens left, and a call takes %d: the next calls would wait for it to refill",
		b.Kind, int64(max(0, b.Level)), b.Limit, ic.cost.Of(b.Kind))
}

// dayBinds reports whether n calls of cost c, from the levels of s, would
// be admitted later because of a day window than the minute windows alone
// would make them, and which day bucket binds: each bucket short of the
// tokens must wait for them at its refill rate.
func dayBinds(s throttle.Snapshot, n int, c throttle.Cost) (throttle.BucketState, bool) {
	var minuteWait, dayWait time.Duration
	var worst throttle.BucketState
	for _, b := range s.Buckets {
		short := float64(int64(n)*c.Of(b.Kind)) - b.Level
		if short <= 0 || b.Limit <= 0 {
			continue
		}
		wait := time.Duration(short * float64(b.Period) / float64(b.Limit))
		switch {
		case b.Window == headers.Minute:
			minuteWait = max(minuteWait, wait)
		case wait > dayWait:
			dayWait, worst = wait, b
		}
	}
	return worst, dayWait > minuteWait
}

// sendGuard is the transport under the throttle: the throttle has admitted
// the request, which goes into the network now. It marks the request's call
// (see importCalls) as sent, or fails it unsent when the call was cancelled
// meanwhile; a rate-limit 429 (the server did not process it) or a
// connection that could not be made (the request never left) marks it as
// waiting again. A call with a sendIntent has it recorded before the
// request leaves, and withdrawn after a 429 or a failed connection. Requests of no import call pass
// through.
type sendGuard struct{ base http.RoundTripper }

func (g sendGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(callStateKey{}).(*callState)
	if st == nil {
		return g.base.RoundTrip(req)
	}
	if err := st.leave(req.Context()); err != nil {
		return nil, err
	}
	resp, err := g.base.RoundTrip(req)
	switch {
	case err != nil && memclient.NeverSent(err):
		// Its wait for tokens, if it is tried again, begins after the
		// client's backoff, which this does not see: none is counted.
		st.notSent(time.Time{})
	case err == nil && resp.StatusCode == http.StatusTooManyRequests:
		st.notSent(time.Now())
	}
	return resp, err
}

// notSent marks the call as out of the network again, its request not
// processed (a rate-limit 429) or never sent (the connection could not be
// made), and withdraws its intent: the next attempt records it again. since
// is when the call starts to wait for tokens (zero: no wait is counted if
// it ends before it is sent).
func (st *callState) notSent(since time.Time) {
	ic := st.ic
	ic.mu.Lock()
	st.sending, st.since = false, since
	ic.mu.Unlock()
	st.intent.withdrawIfStanding()
}

// leave marks the call as in the network, its intent (if any) recorded
// first, unless ctx has ended: then nothing leaves, and an intent recorded
// meanwhile is withdrawn.
func (st *callState) leave(ctx context.Context) error {
	if err := st.intent.stand(ctx); err != nil {
		return err
	}
	ic := st.ic
	ic.mu.Lock()
	if err := ctx.Err(); err != nil {
		ic.mu.Unlock()
		st.intent.withdrawIfStanding()
		return err
	}
	st.sending = true
	ic.mu.Unlock()
	return nil
}

// sendIntent is the journal's record that a call may be in the network,
// made before it is: mem-it has no id that makes a second send harmless,
// so a run that dies while one is in flight must leave a record that keeps
// the next run from sending it again. One call's goroutine uses it (the
// transport runs in the caller's).
type sendIntent struct {
	record   func() error // durably records that the request is leaving
	withdraw func() error // durably records that it was not processed after all
	// standing: recorded and not withdrawn; the call may have been
	// processed.
	standing bool
}

// stand records the intent (a nil one has none) unless it stands already
// or ctx has ended: the request may then leave.
func (in *sendIntent) stand(ctx context.Context) error {
	if in == nil || in.standing {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := in.record(); err != nil {
		return fmt.Errorf("%w: %w", errIntentNotRecorded, err)
	}
	in.standing = true
	return nil
}

// withdrawIfStanding withdraws a standing intent (a nil one has none). If
// the journal cannot keep the withdrawal, the intent stands: the next run
// then takes the call as of unknown outcome.
func (in *sendIntent) withdrawIfStanding() {
	if in == nil || !in.standing {
		return
	}
	if in.withdraw() == nil {
		in.standing = false
	}
}

// errIntentNotRecorded fails, unsent, a call whose intent the journal could
// not keep.
var errIntentNotRecorded = errors.New("not sent: the journal could not record that it was being sent")
