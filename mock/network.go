package mock

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Latency is a distribution of one-way delays: Base, plus a uniform random
// [0, Jitter), plus, when Tail is set, a heavy-tailed extra, all capped at
// Max. The zero value is no delay.
//
// The tail is a Pareto (Lomax) variate of scale Tail and shape TailShape:
// with the default shape 1.5 its median is about 0.59 × Tail, one draw in
// ten exceeds 3.6 × Tail and one in a hundred 20 × Tail, which is how real
// latencies straggle.
type Latency struct {
	Base      time.Duration // the fixed part of every delay
	Jitter    time.Duration // bound of the uniform random part; 0 adds none
	Tail      time.Duration // scale of the heavy-tailed part; 0 adds none
	TailShape float64       // default 1.5; must be positive when set
	Max       time.Duration // cap of the whole delay; 0 means no cap
}

func (l Latency) validate(name string) error {
	if l.Base < 0 || l.Jitter < 0 || l.Tail < 0 || l.Max < 0 || l.TailShape < 0 ||
		math.IsNaN(l.TailShape) || math.IsInf(l.TailShape, 0) {
		return fmt.Errorf("mock: NetworkConfig.%s: negative or invalid delay %+v", name, l)
	}
	return nil
}

// draw takes a delay. It consumes two values from r whatever the
// configuration, so the sequence stays aligned across configurations.
func (l Latency) draw(r *rand.Rand) time.Duration {
	u, v := r.Float64(), r.Float64()
	d := float64(l.Base) + u*float64(l.Jitter)
	if l.Tail > 0 {
		shape := l.TailShape
		if shape == 0 {
			shape = 1.5
		}
		d += float64(l.Tail) * (math.Pow(1-v, -1/shape) - 1)
	}
	if l.Max > 0 {
		d = min(d, float64(l.Max))
	}
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// NetworkConfig configures a Network. The zero value is a network with no
// delays and a pool that keeps every connection.
type NetworkConfig struct {
	// Seed seeds every delay. A network draws one value from it per call,
	// in the order calls reach it, and takes all of that call's delays from
	// it: the same calls arriving in the same order get the same delays.
	Seed uint64
	// Up delays each request before it reaches the server (the uplink);
	// Down delays each response after the server answered (the downlink).
	// Drawn independently per call, so with jitter calls reach the server
	// out of send order and are answered out of server order.
	Up, Down Latency
	// Connect is added to Up for a request that finds no idle connection
	// in the pool (a new connection's handshake). A connection goes back to
	// the pool when its response is delivered, and is discarded when its
	// call fails or its context ends.
	Connect Latency
	// MaxIdle caps the idle connections the pool keeps (Go's default
	// transport keeps 2 per host); 0 keeps every one.
	MaxIdle int
	// Processing is the server's time per call, after the call was metered
	// and before its response leaves.
	Processing Latency
	// Sequential makes the server take one call at a time, in arrival
	// order: a call is metered only when the one before it has finished
	// processing. Otherwise calls are processed concurrently.
	Sequential bool
}

func (c NetworkConfig) validate() error {
	errs := []error{c.Up.validate("Up"), c.Down.validate("Down"), c.Connect.validate("Connect"), c.Processing.validate("Processing")}
	if c.MaxIdle < 0 {
		errs = append(errs, errors.New("mock: NetworkConfig.MaxIdle is negative"))
	}
	return errors.Join(errs...)
}

// NetworkStats counts what a Network did.
type NetworkStats struct {
	Calls    int // requests that entered the network
	Connects int // of which opened a new connection
}

// Network is a simulated network for tests: an http.RoundTripper placed
// between a client and an in-process transport (usually Server.RoundTripper),
// with per-direction latency, a connection pool whose new connections cost a
// handshake, and a server that processes calls concurrently or one at a
// time. Random delays reorder calls the way a real network does: requests
// reach the server out of send order, and answers come back out of the order
// the server metered them.
//
// It waits only with timers and reads no clock but time.Now and no
// randomness but its seed, so inside a testing/synctest bubble every delay is
// virtual and a test of minutes of traffic runs in milliseconds:
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := mock.MustNew(mock.Config{})
//		net, _ := mock.NewNetwork(srv.RoundTripper(), mock.NetworkConfig{Seed: 7,
//			Up:   mock.Latency{Base: 10 * time.Millisecond, Jitter: 30 * time.Millisecond},
//			Down: mock.Latency{Base: 10 * time.Millisecond, Jitter: 30 * time.Millisecond}})
//		client := &http.Client{Transport: net}
//		// ... run the code under test with client; srv.Journal() has the
//		// time each call was metered.
//	})
//
// Every wait honours the request's context: a call abandoned before it
// reaches the server is not metered; one abandoned on the way back was
// metered and processed, and its client sees the context's error. Errors of
// the next transport (injected resets, lost responses) come back after the
// downlink delay. A Network is safe for concurrent use; each wait costs one
// timer.
type Network struct {
	cfg  NetworkConfig
	next http.RoundTripper

	mu     sync.Mutex // guards the fields below
	rng    *rand.Rand
	idle   int
	stats  NetworkStats
	server chan struct{} // the sequential server's single slot
}

// NewNetwork returns a network in front of next (which should serve in
// process, as Server.RoundTripper does, for synctest), or an error for a
// negative delay or pool size.
func NewNetwork(next http.RoundTripper, cfg NetworkConfig) (*Network, error) {
	if next == nil {
		return nil, errors.New("mock: NewNetwork needs a RoundTripper to deliver to")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Network{
		cfg:    cfg,
		next:   next,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xda942042e4dd58b5)),
		server: make(chan struct{}, 1),
	}, nil
}

// Stats returns the calls and connections so far.
func (n *Network) Stats() NetworkStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// hop is one call's draws.
type hop struct {
	up, down, processing time.Duration
}

// begin draws a call's delays and takes a connection from the pool.
func (n *Network) begin() hop {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := rand.New(rand.NewPCG(n.rng.Uint64(), n.rng.Uint64()))
	h := hop{up: n.cfg.Up.draw(r), down: n.cfg.Down.draw(r), processing: n.cfg.Processing.draw(r)}
	conn := n.cfg.Connect.draw(r)
	n.stats.Calls++
	if n.idle > 0 {
		n.idle--
	} else {
		h.up += conn
		n.stats.Connects++
	}
	return h
}

// release puts a connection back into the pool.
func (n *Network) release() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cfg.MaxIdle == 0 || n.idle < n.cfg.MaxIdle {
		n.idle++
	}
}

// RoundTrip carries req to the next transport and its response back, with
// the delays drawn for this call.
func (n *Network) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	h := n.begin()
	if !sleepCtx(ctx.Done(), h.up) {
		closeBody()
		return nil, ctx.Err()
	}
	resp, err := n.serve(req, h)
	if err == nil && !sleepCtx(ctx.Done(), h.down) {
		resp.Body.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		if ctx.Err() == nil {
			sleepCtx(ctx.Done(), h.down)
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	n.release()
	return resp, nil
}

// serve hands req to the next transport (one at a time when the server is
// sequential) and waits out the processing time.
func (n *Network) serve(req *http.Request, h hop) (*http.Response, error) {
	ctx := req.Context()
	if n.cfg.Sequential {
		select {
		case n.server <- struct{}{}:
			defer func() { <-n.server }()
		case <-ctx.Done():
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, ctx.Err()
		}
	}
	resp, err := n.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if !sleepCtx(ctx.Done(), h.processing) {
		resp.Body.Close()
		return nil, ctx.Err()
	}
	return resp, nil
}
