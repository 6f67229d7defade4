package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTrip is one script call: its arguments, and its result once the
// goroutine that runs it is done. The exchange's is reused from call to
// call, so that a call allocates little; one whose call failed is left to
// its goroutine (which may still be writing to it) and replaced.
type roundTrip struct {
	sc *redis.Script
	// args are the whole command for a client's Do: "evalsha", the hash,
	// the number of keys, the keys, the common arguments, then the
	// operation's payload (when there is one).
	args    []any
	nkeys   int
	payload payload
	done    chan struct{} // receives once the call is done
	reply   string
	err     error
}

// payload is an operation's arguments packed as integers separated by
// spaces: one argument, boxed once (go-redis sends a BinaryMarshaler's
// bytes as they are), whatever the exchange carries.
type payload struct{ b []byte }

// MarshalBinary returns the packed arguments, for go-redis.
func (p *payload) MarshalBinary() ([]byte, error) { return p.b, nil }

// newRoundTrip returns a round trip for sc, with the store's keys and
// common arguments, and a payload argument for every script but stateScript.
func (s *Store) newRoundTrip(sc *redis.Script) *roundTrip {
	rt := &roundTrip{sc: sc, nkeys: len(s.keys), done: make(chan struct{}, 1)}
	rt.args = make([]any, 0, 3+len(s.keys)+len(s.common)+1)
	rt.args = append(rt.args, "evalsha", sc.Hash(), len(s.keys))
	for _, k := range s.keys {
		rt.args = append(rt.args, k)
	}
	rt.args = append(rt.args, s.common...)
	if sc != stateScript {
		rt.args = append(rt.args, &rt.payload)
	}
	return rt
}

// call runs rt's script within ctx and Options.Timeout (at least 1 s until
// Redis has answered a first call, which opens a connection and may load
// the script), and returns its reply. It never waits longer than that,
// even if the client ignores context deadlines: the script runs on a
// goroutine of its own, and a call that took too long is left to it. On
// an error rt must not be used again.
func (s *Store) call(parent context.Context, rt *roundTrip) (string, error) {
	s.mu.Lock()
	timeout := s.opts.Timeout
	if s.stats.Calls == 0 {
		timeout = max(timeout, firstTimeout)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	start := time.Now()
	go s.run(ctx, rt)
	select {
	case <-rt.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		if rt.err != nil {
			s.stats.Errors++
			if errors.Is(rt.err, redis.Nil) {
				return "", errors.New("unexpected nil reply")
			}
			return "", rt.err
		}
		s.stats.Calls++
		s.stats.Slowest = max(s.stats.Slowest, time.Since(start))
		return rt.reply, nil
	case <-ctx.Done():
		s.mu.Lock()
		s.stats.Errors++
		s.mu.Unlock()
		if err := parent.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("no answer from Redis within %s", timeout)
	}
}

// run makes rt's call and signals rt.done. A script that Redis does not
// hold (restarted, flushed) is loaded and run again.
func (s *Store) run(ctx context.Context, rt *roundTrip) {
	var cmd *redis.Cmd
	if s.do != nil {
		cmd = s.do(ctx, rt.args...)
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") && rt.sc.Load(ctx, s.client).Err() == nil {
			cmd = s.do(ctx, rt.args...)
		}
	} else {
		cmd = rt.sc.Run(ctx, s.client, s.keys, rt.args[3+rt.nkeys:]...)
	}
	rt.reply, rt.err = cmd.Text()
	rt.done <- struct{}{}
}

// parseInts appends to dst the integers of a script's reply (decimal,
// separated by single spaces).
func parseInts(dst []int64, reply string) ([]int64, error) {
	for i := 0; i < len(reply); {
		j := i
		for j < len(reply) && reply[j] != ' ' {
			j++
		}
		x, err := strconv.ParseInt(reply[i:j], 10, 64)
		if err != nil {
			return dst, fmt.Errorf("a malformed reply: %w", err)
		}
		dst = append(dst, x)
		i = j + 1
	}
	return dst, nil
}

// appendInts appends the integers xs to b, each after a space.
func appendInts(b []byte, xs ...int64) []byte {
	for _, x := range xs {
		b = append(b, ' ')
		b = strconv.AppendInt(b, x, 10)
	}
	return b
}
