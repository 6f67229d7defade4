package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisServer is a real redis-server on a loopback port, without
// persistence, in a temporary directory.
type redisServer struct {
	t    testing.TB
	Addr string
	port int
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// startRedis starts a redis-server for the test and stops it in t.Cleanup.
// The test fails (not skips) when redis-server is not installed: CI installs
// it (.ci/run), and so can you: apt-get install -y redis-server.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (these tests need a real one): apt-get install -y redis-server; %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &redisServer{t: t, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Start (re)starts the server on its port and waits until it answers PING.
func (s *redisServer) Start() {
	s.t.Helper()
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server on %s did not answer PING: %v\n%s", s.Addr, err, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the server at once (SIGKILL) and waits for it to exit.
func (s *redisServer) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// Client returns a go-redis client for the server with short timeouts and no
// retries, as the store wants, closed in t.Cleanup.
func (s *redisServer) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                  s.Addr,
		MaxRetries:            -1,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		ContextTimeoutEnabled: true,
		PoolSize:              128,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// countingHandler discards the store's log lines but counts them.
type countingHandler struct {
	mu    sync.Mutex
	lines []string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, fmt.Sprintf("%s %s", r.Level, r.Message))
	if testing.Verbose() {
		var attrs []string
		r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a.String()); return true })
		fmt.Println("log:", r.Level, r.Message, attrs)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

// bigRoom is an Admission's room when nothing is in flight: more than any
// bucket holds.
var bigRoom = throttle.Cost{Requests: 1 << 40, Complexity: 1 << 40}

// markSynced ends the key's cold start through s, as the first response
// with rate headers does (no response will, in these tests).
func markSynced(t testing.TB, s throttle.Store) {
	t.Helper()
	x := &throttle.Exchange{Answers: []throttle.Answer{{Synced: true}}}
	require.NoError(t, s.Exchange(context.Background(), 0, x))
}

// admitOne asks s to admit one call of cost c that must leave headroom, as
// a Throttle's head alone in its queue: 0 when it was admitted, or how
// long it must wait.
func admitOne(s throttle.Store, now time.Duration, c, headroom throttle.Cost) (time.Duration, error) {
	x := &throttle.Exchange{Admit: throttle.Admission{Calls: []throttle.Call{{Cost: c, Headroom: headroom}}, Room: bigRoom}}
	err := s.Exchange(context.Background(), now, x)
	if x.Admit.Calls[0].Admitted {
		return 0, err
	}
	return x.Admit.Wait, err
}

// take is admitOne for a store that must answer from Redis.
func take(t testing.TB, s throttle.Store, now time.Duration, c, headroom throttle.Cost) time.Duration {
	t.Helper()
	d, err := admitOne(s, now, c, headroom)
	require.NoError(t, err)
	return d
}

// give hands c back to every bucket through s.
func give(t testing.TB, s throttle.Store, c throttle.Cost) {
	t.Helper()
	require.NoError(t, s.Exchange(context.Background(), 0, &throttle.Exchange{Give: c}))
}

// gatedClient is a Redis client that can hold one script run until the
// test releases it: a slow round trip, on demand.
type gatedClient struct {
	redis.Scripter
	armed   atomic.Bool
	held    chan struct{} // closed once a run is held
	release chan struct{} // closed by the test to let it go
}

// arm makes the next script run wait for release, and returns channels
// that say when it is held and let it go.
func (g *gatedClient) arm() (held, release chan struct{}) {
	g.held, g.release = make(chan struct{}), make(chan struct{})
	g.armed.Store(true)
	return g.held, g.release
}

func (g *gatedClient) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	if g.armed.CompareAndSwap(true, false) {
		close(g.held)
		<-g.release
	}
	return g.Scripter.EvalSha(ctx, sha, keys, args...)
}
