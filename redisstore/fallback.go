package redisstore

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
)

// onRedis reports whether to try Redis for this exchange: yes when not in
// fallback. In fallback, once per ProbeInterval, a probe; when Redis
// answers it, the store stays on its local budget until the recovery
// window (see returnScript) ends, then charges Redis with what it spent
// locally and uses Redis again. The error is a probe's or return's that
// failed. s.xmu is held.
func (s *Store) onRedis(ctx context.Context, now time.Duration) (bool, error) {
	s.mu.Lock()
	fallen := s.fb != nil
	s.mu.Unlock()
	if !fallen {
		return true, nil
	}
	if s.switchAt > 0 {
		if now < s.switchAt {
			return false, nil
		}
		v, err := s.returnCall(ctx, s.spent, 1, s.gen)
		if err != nil {
			s.switchAt, s.lastProbe = 0, now
			return false, err
		}
		s.mu.Lock()
		s.fb = nil
		s.stats.Returns++
		s.mu.Unlock()
		s.spent, s.ticket, s.switchAt = throttle.Cost{}, 0, 0
		s.log.Info("redisstore: back to the shared budget in Redis", "key", s.keys[0], "cold_start", v[0] == 0)
		return true, nil
	}
	if now-s.lastProbe < s.opts.ProbeInterval {
		return false, nil
	}
	s.lastProbe = now
	v, err := s.returnCall(ctx, throttle.Cost{}, 0, 0)
	if err != nil {
		return false, err
	}
	// Charge Redis a little before the window closes, so that every active
	// process's charge is in before anyone reserves from Redis again.
	s.switchAt = now + max(time.Microsecond, micros(v[2])-s.opts.Timeout-switchMargin)
	return false, nil
}

// returnCall runs returnScript: phase 0 probes, phase 1 charges spent if
// the state's generation is still gen. It returns {synced, fresh, µs left
// in the window}.
func (s *Store) returnCall(ctx context.Context, spent throttle.Cost, phase, gen int64) ([]int64, error) {
	rt := s.newRoundTrip(returnScript)
	rt.payload.add(spent.Requests, spent.Complexity, s.window().Microseconds(), phase, gen)
	v, err := s.call(ctx, rt)
	if err == nil && len(v) != 3 {
		err = errors.New("a malformed reply")
	}
	return v, err
}

// window is the recovery window: long enough for every active process in
// fallback to probe once more (a probe per ProbeInterval, each within a
// Timeout).
func (s *Store) window() time.Duration { return s.opts.ProbeInterval + 3*s.opts.Timeout }

// fail switches to the local budget after a failed Redis call. s.xmu is
// held.
func (s *Store) fail(now time.Duration, err error) {
	if errors.Is(err, redis.Nil) {
		err = errors.New("unexpected nil reply")
	}
	s.mu.Lock()
	calls := s.stats.Calls
	s.mu.Unlock()
	s.log.Warn("redisstore: Redis is out of reach; spending a local share of the budget until it answers",
		"key", s.keys[0], "share", s.opts.Share, "calls_answered_before", calls, "err", err)
	s.lastProbe = now
	// Start from Share of the levels the last exchange saw (empty if none
	// did): if every process falls back, together they hold no more than
	// the shared budget held.
	fb := throttle.NewMemoryStore(s.local)
	var starts []throttle.BucketReading
	for i, b := range s.local.Buckets {
		var start int64
		if s.knowLevels && s.lastLevel[i] > 0 {
			start = int64(math.Floor(float64(s.lastLevel[i]) * s.opts.Share))
		}
		starts = append(starts, throttle.BucketReading{Kind: b.Kind, Window: b.Window, Reading: throttle.Reading{Floor: start, Ceil: start}})
	}
	first := throttle.Answer{Readings: starts, Moved: make([]throttle.Moved, len(starts)), Pause: s.pauseUntil - now}
	fb.Exchange(context.Background(), now, &throttle.Exchange{Answers: []throttle.Answer{first}}) // never fails
	s.spent, s.ticket, s.switchAt = throttle.Cost{}, 0, 0
	s.mu.Lock()
	s.fb = fb
	s.stats.Fallbacks++
	s.mu.Unlock()
}
