package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTrip is one script call: its arguments, its command and its
// context, and its result once the goroutine that runs it is done (see
// Store.call). The exchange's is reused from call to call, so that a call
// allocates little; one whose call failed is left behind (a goroutine may
// still be using it) and replaced.
type roundTrip struct {
	sc *redis.Script
	// args are the whole command: "evalsha", the hash, the number of keys,
	// the keys, the common arguments, then the operation's payload (when
	// there is one).
	args    []any
	nkeys   int
	payload payload
	// cmd runs args through a client's Process, when it has one; its reply,
	// an array of integers, is read into a new slice each time.
	cmd *redis.IntSliceCmd
	ctx deadlineCtx // the context of a direct call

	done  chan struct{} // receives once a guarded call is done
	reply []int64
	err   error
}

// payload is a script's integer arguments as one MessagePack array, which
// the script unpacks in one call (see payloadLua): one argument, boxed once
// (go-redis sends a BinaryMarshaler's bytes as they are), whatever the
// exchange carries.
type payload struct {
	b []byte
	n uint32
}

// reset empties p.
func (p *payload) reset() { p.b, p.n = append(p.b[:0], 0xdd, 0, 0, 0, 0), 0 } // array 32

// add appends the integers xs to p.
func (p *payload) add(xs ...int64) {
	if len(p.b) == 0 {
		p.reset()
	}
	for _, x := range xs {
		p.b = appendMsgpackInt(p.b, x)
	}
	p.n += uint32(len(xs))
	binary.BigEndian.PutUint32(p.b[1:5], p.n)
}

// addArray appends the integers xs to p as one element, an array of their
// own.
func (p *payload) addArray(xs ...int64) {
	if len(p.b) == 0 {
		p.reset()
	}
	if len(xs) < 16 {
		p.b = append(p.b, 0x90|byte(len(xs))) // fixarray
	} else {
		p.b = binary.BigEndian.AppendUint32(append(p.b, 0xdd), uint32(len(xs))) // array 32
	}
	for _, x := range xs {
		p.b = appendMsgpackInt(p.b, x)
	}
	p.n++
	binary.BigEndian.PutUint32(p.b[1:5], p.n)
}

// MarshalBinary returns the packed array, for go-redis.
func (p *payload) MarshalBinary() ([]byte, error) { return p.b, nil }

// appendMsgpackInt appends x to b in MessagePack: a fixint when it fits,
// else an int 64.
func appendMsgpackInt(b []byte, x int64) []byte {
	if -32 <= x && x < 128 {
		return append(b, byte(x))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(x))
}

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
	if s.process != nil {
		rt.cmd = redis.NewIntSliceCmd(context.Background(), rt.args...)
	}
	return rt
}

// call runs rt's script within ctx and Options.Timeout (at least 1 s until
// Redis has answered a first call, which opens a connection and may load
// the script), and returns its reply. It never waits longer than that,
// even if the client ignores context deadlines: a client that puts them on
// its connections (see honoursDeadlines) runs the call directly, with a
// deadline; any other runs it on a goroutine of its own, and a call that
// took too long is left to it. On an error rt must not be used again.
func (s *Store) call(parent context.Context, rt *roundTrip) ([]int64, error) {
	s.mu.Lock()
	timeout := s.opts.Timeout
	if s.stats.Calls == 0 {
		timeout = max(timeout, firstTimeout)
	}
	s.mu.Unlock()
	start := time.Now()
	var reply []int64
	var err error
	if s.direct {
		reply, err = s.callDirect(parent, rt, start.Add(timeout))
	} else {
		reply, err = s.callGuarded(parent, rt, timeout)
	}
	if err != nil && parent.Err() == nil && time.Since(start) >= timeout {
		err = fmt.Errorf("no answer from Redis within %s: %w", timeout, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.stats.Errors++
		if errors.Is(err, redis.Nil) {
			return nil, errors.New("unexpected nil reply")
		}
		return nil, err
	}
	s.stats.Calls++
	s.stats.Slowest = max(s.stats.Slowest, time.Since(start))
	return reply, nil
}

// callDirect runs rt's script on the calling goroutine, to end by
// deadline: the client puts the context's deadline on the connection. With
// a parent that never ends (the throttle's), the context is rt's own,
// reused: the call allocates none.
func (s *Store) callDirect(parent context.Context, rt *roundTrip, deadline time.Time) ([]int64, error) {
	if parent.Done() != nil {
		ctx, cancel := context.WithDeadline(parent, deadline)
		defer cancel()
		return s.run(ctx, rt)
	}
	rt.ctx.arm(parent, deadline)
	reply, err := s.run(&rt.ctx, rt)
	if !rt.ctx.disarm() && err == nil {
		err = context.DeadlineExceeded // answered, but too late: as if it had not
	}
	return reply, err
}

// callGuarded runs rt's script on a goroutine of its own, within timeout,
// and waits for it no longer than that.
func (s *Store) callGuarded(parent context.Context, rt *roundTrip, timeout time.Duration) ([]int64, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	go func() {
		rt.reply, rt.err = s.run(ctx, rt)
		rt.done <- struct{}{}
	}()
	select {
	case <-rt.done:
		return rt.reply, rt.err
	case <-ctx.Done():
		if err := parent.Err(); err != nil {
			return nil, err
		}
		return nil, ctx.Err()
	}
}

// run makes rt's call and returns its reply. A script that Redis does not
// hold (restarted, flushed) is loaded and run again.
func (s *Store) run(ctx context.Context, rt *roundTrip) ([]int64, error) {
	if rt.cmd == nil {
		return rt.sc.Run(ctx, s.client, s.keys, rt.args[3+rt.nkeys:]...).Int64Slice()
	}
	err := s.process(ctx, rt.cmd)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") && rt.sc.Load(ctx, s.client).Err() == nil {
		err = s.process(ctx, rt.cmd)
	}
	return rt.cmd.Val(), err
}

// honoursDeadlines reports whether client puts a context's deadline on its
// connections (ContextTimeoutEnabled, and read and write deadlines not
// disabled): then a call can run without a goroutine to bound it.
func honoursDeadlines(client redis.Scripter) bool {
	switch c := client.(type) {
	case *redis.Client:
		o := c.Options()
		return o.ContextTimeoutEnabled && o.ReadTimeout >= 0 && o.WriteTimeout >= 0
	case *redis.ClusterClient:
		o := c.Options()
		return o.ContextTimeoutEnabled && o.ReadTimeout >= 0 && o.WriteTimeout >= 0
	}
	return false
}

// deadlineCtx is the context of a direct call: a deadline, which the client
// puts on the connection, and a Done channel that a timer closes when it
// passes, for whatever waits in the client (a free connection, a dial).
// It is reused from call to call while no deadline passes, so that a call
// allocates no context; once one has passed (its channel is closed), the
// round trip is not used again.
type deadlineCtx struct {
	parent   context.Context // for its values: it never ends
	deadline time.Time
	done     chan struct{}
	timer    *time.Timer
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }
func (c *deadlineCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// arm readies c for a call that must end by deadline, under parent (which
// never ends).
func (c *deadlineCtx) arm(parent context.Context, deadline time.Time) {
	c.parent, c.deadline = parent, deadline
	if c.timer == nil {
		done := make(chan struct{})
		c.done, c.timer = done, time.AfterFunc(time.Until(deadline), func() { close(done) })
		return
	}
	c.timer.Reset(time.Until(deadline))
}

// disarm stops c's timer after a call, and reports whether the deadline
// had not passed (c may be used again).
func (c *deadlineCtx) disarm() bool { return c.timer.Stop() }
