package redisstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/memsdk/mem-go/throttle"
)

// Exchange implements throttle.Store: x's answers, its give and its
// admission, atomically, in one Redis round trip whatever x carries (one
// script: see the package documentation for the rules of the shared
// queue). The store's place in the shared queue is its Throttle's head's:
// a head admitted gives it up, and the first call not admitted (the new
// head) takes a place, or keeps the store's, with its cost and headroom;
// the calls that pass the head pass or wait behind the same places as the
// head and leave the place as it is.
//
// The answers' readings only ever lower a shared level, whatever their
// Raise says: a Floor subtracts only this process's calls in flight, so
// raising the shared level to it would hand out again the tokens that
// other processes' calls in flight hold (a reading that could only raise
// is not even sent, and reports its bucket's level unmoved).
//
// When a call leaves flight, each bucket is held to at most its limit less
// the calls in flight of every store on the key, not only this process's
// (Answer.Inflight): while a bucket sits full, the server earns no refill
// until a call reaches it, but Redis charged every process's calls at
// admission and refilled at once. Each exchange records the store's calls
// in flight in Redis (those the throttle has after its answers, plus what
// the exchange admitted); a record counts for a minute after the store's
// last exchange (a process that died stops holding the others back), and
// the other stores' calls lower the limit down to zero, no further.
//
// When Redis does not answer, the exchange is applied to the local budget
// (see the package documentation), its readings scaled by Share and still
// only lowering, and Exchange returns an error that wraps Redis's; x's
// results are valid either way. In fallback, no round trip but one probe
// per ProbeInterval.
func (s *Store) Exchange(ctx context.Context, now time.Duration, x *throttle.Exchange) error {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	for _, a := range x.Answers {
		if a.Pause > 0 {
			s.pauseUntil = max(s.pauseUntil, now+a.Pause)
		}
	}
	base := s.flightBefore(x)
	defer func() { s.flight = base.Add(admitted(&x.Admit)) }()
	onRedis, err := s.onRedis(ctx, now)
	if onRedis {
		if err = s.exchangeRedis(ctx, now, base, x); err == nil {
			return nil
		}
		s.xrt = nil // a goroutine may still use it, or its deadline passed
		s.fail(now, err)
	}
	s.exchangeLocally(ctx, now, x)
	if err != nil {
		return fmt.Errorf("redisstore: Redis is out of reach, the local budget answered: %w", err)
	}
	return nil
}

// flightBefore returns the store's calls in flight once x's answers and
// give are applied, before its admission: what the throttle had in flight
// after its last answer (Answer.Inflight counts the call answered), or,
// with no answer, what the last exchange left less the tokens given back
// (calls admitted whose callers went). With xmu held.
func (s *Store) flightBefore(x *throttle.Exchange) throttle.Cost {
	f := s.flight.Sub(x.Give)
	if n := len(x.Answers); n > 0 {
		a := x.Answers[n-1]
		f = a.Inflight.Sub(a.Cost)
	}
	return nonNegative(f)
}

// nonNegative returns c with each kind below zero raised to zero.
func nonNegative(c throttle.Cost) throttle.Cost {
	return throttle.Cost{Requests: max(0, c.Requests), Complexity: max(0, c.Complexity)}
}

// admitted returns the cost of the calls a admitted.
func admitted(a *throttle.Admission) throttle.Cost {
	var c throttle.Cost
	for _, call := range a.Calls {
		if call.Admitted {
			c = c.Add(call.Cost)
		}
	}
	return c
}

// exchangeRedis runs x through exchangeScript and writes the results into
// x; flight is the store's calls in flight before x's admission (see
// flightBefore).
func (s *Store) exchangeRedis(ctx context.Context, now time.Duration, flight throttle.Cost, x *throttle.Exchange) error {
	if s.xrt == nil {
		s.xrt = s.newRoundTrip(exchangeScript)
	}
	rt := s.xrt
	rt.payload.reset()
	rt.payload.add(s.id, flight.Requests, flight.Complexity)
	s.pack(&rt.payload, now, x)
	v, err := s.call(ctx, rt)
	if err != nil {
		return err
	}
	return s.unpack(now, x, v)
}

// pack adds the rest of exchangeScript's payload for x to p, after the
// store's id and calls in flight: the answers, the give, the ticket and
// the admission (see the scripts).
func (s *Store) pack(p *payload, now time.Duration, x *throttle.Exchange) {
	p.add(int64(len(x.Answers)))
	for _, a := range x.Answers {
		m := 0 // readings sent, at most maxSent
		for _, r := range a.Readings {
			if _, ok := s.sendable(r); ok && m < maxSent {
				m++
			}
		}
		pause := max(0, int64((a.Pause+time.Microsecond-1)/time.Microsecond))
		p.add(a.Cost.Requests, a.Cost.Complexity, a.Inflight.Requests, a.Inflight.Complexity,
			flag(a.Refund), flag(a.Synced), pause, int64(m))
		for _, r := range a.Readings {
			if i, ok := s.sendable(r); ok && m > 0 {
				p.add(int64(i+1), r.Floor, r.Ceil, r.Slack.Microseconds())
				m--
			}
		}
	}
	p.add(x.Give.Requests, x.Give.Complexity, s.ticket)
	a := &x.Admit
	var bound int64 // µs left of the head's bound, 0 for none
	if a.Latest > now {
		bound = max(1, int64((a.Latest-now)/time.Microsecond))
	}
	p.add(min(a.Room.Requests, maxRoom), min(a.Room.Complexity, maxRoom), bound, int64(len(a.Calls)))
	for _, c := range a.Calls {
		p.add(c.Cost.Requests, c.Cost.Complexity, c.Headroom.Requests, c.Headroom.Complexity, int64(c.Line))
	}
}

// maxSent bounds the readings of one answer sent to Redis or to the local
// budget.
const maxSent = 4

// maxRoom bounds the room sent to Redis (a kind without a bucket has
// unbounded room), so that Lua's doubles hold it exactly.
const maxRoom = 1 << 52

// sendable returns the bucket of reading r, and whether r goes to Redis:
// only a reading that may lower its level does.
func (s *Store) sendable(r throttle.BucketReading) (int, bool) {
	i := s.index(r.Kind, r.Window)
	return i, i >= 0 && r.Ceil < s.defs[i].Limit
}

// unpack writes exchangeScript's reply v into x and records what the store
// keeps of it (ticket, generation, levels, pause).
func (s *Store) unpack(now time.Duration, x *throttle.Exchange, v []int64) error {
	n, a := len(s.defs), &x.Admit
	want := 8 + n + len(a.Calls)
	for _, ans := range x.Answers {
		for _, r := range ans.Readings {
			if _, ok := s.sendable(r); ok {
				want += 2
			}
		}
	}
	if len(v) != want {
		return fmt.Errorf("a reply of %d integers, not %d", len(v), want)
	}
	x.Synced, s.gen, s.ticket = v[0] == 1, v[1], v[2]
	if v[3] > 0 {
		s.pauseUntil = max(s.pauseUntil, now+time.Duration(v[3])*time.Microsecond)
	}
	levels := v[4 : 4+n]
	for i, units := range levels {
		s.lastLevel[i] = units / s.q[i]
	}
	s.knowLevels = true
	if len(x.Levels) == n {
		for i, units := range levels {
			x.Levels[i] = float64(units) / float64(s.q[i])
		}
	}
	res := v[4+n:]
	a.Wait, a.Next, a.RoomShort = micros(res[0]), micros(res[2]), res[3] == 1
	if res[1] > 0 {
		a.Latest = now + micros(res[1])
	}
	for k := range a.Calls {
		a.Calls[k].Admitted = res[4+k] == 1
	}
	moved := res[4+len(a.Calls):]
	for _, ans := range x.Answers {
		for j, r := range ans.Readings {
			i, ok := s.sendable(r)
			switch {
			case i < 0:
				ans.Moved[j] = throttle.Moved{}
			case !ok:
				ans.Moved[j] = throttle.Moved{Found: true}
			default:
				q := float64(s.q[i])
				ans.Moved[j] = throttle.Moved{Before: float64(moved[0]) / q, After: float64(moved[1]) / q, Found: true}
				moved = moved[2:]
			}
		}
	}
	return nil
}

// micros converts µs to a Duration.
func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// flag is 1 for true, for a script's arguments.
func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// exchangeLocally applies x to the local budget, with s.mu held: the
// answers with their readings scaled by Share (those sent to Redis only:
// the local budget too is only lowered), the give and the admission. What
// it admits is charged to Redis on return (see onRedis).
func (s *Store) exchangeLocally(ctx context.Context, now time.Duration, x *throttle.Exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range x.Answers {
		s.answerLocally(ctx, now, a)
	}
	lx := &s.lx
	lx.Answers, lx.Give, lx.Admit, lx.Levels = lx.Answers[:0], x.Give, x.Admit, x.Levels
	s.fb.Exchange(ctx, now, lx) // the memory store never fails
	x.Admit, x.Synced = lx.Admit, lx.Synced
	lx.Admit, lx.Levels = throttle.Admission{}, nil // not kept: x's
	s.unspend(x.Give)
	for _, c := range x.Admit.Calls {
		if c.Admitted {
			s.spent = s.spent.Add(c.Cost)
		}
	}
}

// unspend takes c off what the local budget has spent, down to zero.
func (s *Store) unspend(c throttle.Cost) {
	s.spent = nonNegative(s.spent.Sub(c))
}

// answerLocally applies one answer to the local budget, with s.mu held:
// the readings sent to Redis in its place are scaled by Share.
func (s *Store) answerLocally(ctx context.Context, now time.Duration, a throttle.Answer) {
	share := s.opts.Share
	local := s.lreadings[:0]
	var sent [maxSent]int // a's reading of each local one
	for j, r := range a.Readings {
		a.Moved[j] = throttle.Moved{}
		i, ok := s.sendable(r)
		if i >= 0 {
			a.Moved[j].Found = true
		}
		if !ok || len(local) == len(sent) {
			continue
		}
		lr := throttle.Reading{Floor: int64(math.Floor(float64(r.Floor) * share)), Ceil: int64(math.Ceil(float64(r.Ceil) * share)), Slack: r.Slack}
		if r.Floor <= 0 {
			lr.Floor = r.Floor
		}
		sent[len(local)] = j
		local = append(local, throttle.BucketReading{Kind: r.Kind, Window: r.Window, Reading: lr})
	}
	s.lx.Answers = append(s.lx.Answers[:0], throttle.Answer{Cost: a.Cost, Inflight: a.Inflight, Refund: a.Refund,
		Readings: local, Moved: s.lmoved[:len(local)], Synced: a.Synced, Pause: a.Pause})
	s.lx.Give, s.lx.Admit.Calls = throttle.Cost{}, nil
	s.fb.Exchange(ctx, now, &s.lx)
	for k, j := range sent[:len(local)] {
		a.Moved[j] = s.lmoved[k]
	}
	if a.Refund {
		s.unspend(a.Cost)
	}
}
