package mock

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const netPathPrefix = "/v2/notes/00000000-0000-4000-8000-"

// netCall is one call through a network, as the client and the server saw
// it.
type netCall struct {
	sent, metered, answered time.Time
	err                     error
}

// netRun sends the calls through a network in front of a fresh server, call
// i at sendAt(i) from its own goroutine, and returns each call's times (the
// metering from the journal) and the order in which the server metered them.
// Each call reads an unknown note whose id carries i (a 404, metered all the
// same).
func netRun(t *testing.T, cfg NetworkConfig, n int, sendAt func(i int) time.Duration) ([]netCall, []int, *Network) {
	t.Helper()
	s := MustNew(Config{Limits: Limits{RequestsPerMinute: 100000, ComplexityPerMinute: 100000, RequestsPerDay: 1000000, ComplexityPerDay: 1000000}})
	nw, err := NewNetwork(s.RoundTripper(), cfg)
	require.NoError(t, err)
	c := &http.Client{Transport: nw}
	calls := make([]netCall, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			time.Sleep(sendAt(i))
			calls[i].sent = time.Now()
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://mem.test%s%012d", netPathPrefix, i), nil)
			req.Header.Set("Authorization", "Bearer "+DefaultKey)
			resp, err := c.Do(req)
			calls[i].answered, calls[i].err = time.Now(), err
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	var order []int
	for _, e := range s.Journal() {
		i, err := strconv.Atoi(strings.TrimPrefix(e.Path, netPathPrefix))
		require.NoError(t, err, e.Path)
		calls[i].metered = e.Time
		order = append(order, i)
	}
	return calls, order, nw
}

func every(d time.Duration) func(int) time.Duration {
	return func(i int) time.Duration { return time.Duration(i) * d }
}

func TestNetworkConstantLatencyAndConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := NetworkConfig{Up: Latency{Base: 30 * time.Millisecond}, Down: Latency{Base: 50 * time.Millisecond},
			Connect: Latency{Base: 100 * time.Millisecond}}
		// Three at once: three connections; three more after they are
		// back: all reused.
		calls, _, nw := netRun(t, cfg, 6, func(i int) time.Duration { return time.Duration(i/3) * time.Second })
		for i, c := range calls {
			require.NoError(t, c.err)
			up := 30 * time.Millisecond
			if i < 3 {
				up += 100 * time.Millisecond
			}
			assert.Equal(t, up, c.metered.Sub(c.sent), "call %d uplink", i)
			assert.Equal(t, 50*time.Millisecond, c.answered.Sub(c.metered), "call %d downlink", i)
		}
		assert.Equal(t, NetworkStats{Calls: 6, Connects: 3}, nw.Stats())

		// A pool that keeps one idle connection: of the second three,
		// one reuses it and two connect.
		cfg.MaxIdle = 1
		calls, _, nw = netRun(t, cfg, 6, func(i int) time.Duration { return time.Duration(i/3) * time.Second })
		var connected int
		for _, c := range calls[3:] {
			if c.metered.Sub(c.sent) > 30*time.Millisecond {
				connected++
			}
		}
		assert.Equal(t, 2, connected)
		assert.Equal(t, NetworkStats{Calls: 6, Connects: 5}, nw.Stats())
	})
}

// TestNetworkJitterReorders checks, from the journal, that jitter on both
// directions meters calls out of send order and answers them out of meter
// order, within the configured bounds.
func TestNetworkJitterReorders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := NetworkConfig{Seed: 5, Up: Latency{Base: 10 * time.Millisecond, Jitter: 50 * time.Millisecond},
			Down: Latency{Base: 5 * time.Millisecond, Jitter: 50 * time.Millisecond}}
		calls, order, _ := netRun(t, cfg, 40, every(5*time.Millisecond))
		byAnswer := slices.Clone(order)
		slices.SortStableFunc(byAnswer, func(a, b int) int { return calls[a].answered.Compare(calls[b].answered) })
		assert.False(t, slices.IsSorted(order), "metered in send order")
		assert.NotEqual(t, order, byAnswer, "answered in meter order")
		var minUp, maxUp, minDown, maxDown time.Duration = time.Hour, 0, time.Hour, 0
		for _, c := range calls {
			require.NoError(t, c.err)
			up, down := c.metered.Sub(c.sent), c.answered.Sub(c.metered)
			minUp, maxUp = min(minUp, up), max(maxUp, up)
			minDown, maxDown = min(minDown, down), max(maxDown, down)
		}
		// 40 draws of each: the observed spread fills most of the range.
		assert.True(t, minUp >= 10*time.Millisecond && maxUp < 60*time.Millisecond && maxUp-minUp > 35*time.Millisecond, "uplink %v..%v", minUp, maxUp)
		assert.True(t, minDown >= 5*time.Millisecond && maxDown < 55*time.Millisecond && maxDown-minDown > 35*time.Millisecond, "downlink %v..%v", minDown, maxDown)
	})
}

// TestNetworkHeavyTail checks the tail's shape from measured uplink delays:
// most calls near the base, a few far out, none past the cap.
func TestNetworkHeavyTail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 1000
		cfg := NetworkConfig{Seed: 9, Up: Latency{Base: 5 * time.Millisecond, Tail: 10 * time.Millisecond, Max: time.Second}}
		calls, _, _ := netRun(t, cfg, n, every(time.Millisecond))
		ups := make([]time.Duration, n)
		for i, c := range calls {
			ups[i] = c.metered.Sub(c.sent)
		}
		slices.Sort(ups)
		// Lomax(scale 10 ms, shape 1.5): median 5.9 ms, 99th percentile
		// 197 ms; plus the 5 ms base.
		assert.InDelta(t, float64(10900*time.Microsecond), float64(ups[n/2]), float64(1500*time.Microsecond), "median")
		assert.InDelta(t, float64(202*time.Millisecond), float64(ups[n*99/100]), float64(80*time.Millisecond), "99th percentile")
		assert.GreaterOrEqual(t, ups[0], 5*time.Millisecond)
		assert.LessOrEqual(t, ups[n-1], time.Second, "capped")
		assert.Greater(t, ups[n-1], 300*time.Millisecond, "a straggler")
	})
}

// TestNetworkSequentialServer checks that a sequential server meters one
// call per processing time, and a concurrent one all at once.
func TestNetworkSequentialServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := NetworkConfig{Processing: Latency{Base: 100 * time.Millisecond}, Sequential: true}
		calls, order, _ := netRun(t, cfg, 5, every(0))
		for k, i := range order {
			assert.Equal(t, time.Duration(k)*100*time.Millisecond, calls[i].metered.Sub(calls[0].sent), "the %dth metered", k)
			assert.Equal(t, 100*time.Millisecond, calls[i].answered.Sub(calls[i].metered))
		}
		cfg.Sequential = false
		calls, _, _ = netRun(t, cfg, 5, every(0))
		for _, c := range calls {
			assert.Equal(t, c.sent, c.metered)
			assert.Equal(t, 100*time.Millisecond, c.answered.Sub(c.metered))
		}
	})
}

// TestNetworkSeed checks that a seed fixes the delays of calls sent in a
// fixed order, and another seed changes them.
func TestNetworkSeed(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		var out []time.Duration
		synctest.Test(t, func(t *testing.T) {
			cfg := NetworkConfig{Seed: seed, Up: Latency{Jitter: 40 * time.Millisecond}, Down: Latency{Tail: 10 * time.Millisecond},
				Connect: Latency{Jitter: 100 * time.Millisecond}, MaxIdle: 1}
			calls, _, _ := netRun(t, cfg, 20, every(time.Second)) // one at a time
			for _, c := range calls {
				out = append(out, c.metered.Sub(c.sent), c.answered.Sub(c.metered))
			}
		})
		return out
	}
	a := delays(1)
	assert.Equal(t, a, delays(1))
	assert.NotEqual(t, a, delays(2))
}

func TestNetworkHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := MustNew(Config{})
		nw, err := NewNetwork(s.RoundTripper(), NetworkConfig{Up: Latency{Base: time.Second}, Down: Latency{Base: time.Second},
			Processing: Latency{Base: time.Second}, Sequential: true})
		require.NoError(t, err)
		c := &http.Client{Transport: nw}
		post := func(timeout time.Duration, content string) error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://mem.test/v2/notes", strings.NewReader(`{"content":"`+content+`"}`))
			req.Header.Set("Authorization", "Bearer "+DefaultKey)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		assert.ErrorIs(t, post(500*time.Millisecond, "up"), context.DeadlineExceeded)
		assert.Empty(t, s.Journal(), "abandoned on the way up: not metered")
		assert.ErrorIs(t, post(2500*time.Millisecond, "down"), context.DeadlineExceeded)
		require.Len(t, s.Journal(), 1, "abandoned on the way back: metered")
		assert.Len(t, s.Notes(DefaultKey), 1, "and processed")
		require.NoError(t, post(time.Minute, "whole"))
		assert.Equal(t, NetworkStats{Calls: 3, Connects: 3}, nw.Stats(), "an abandoned call's connection is not reused")
	})
}

func TestNetworkInvalidConfig(t *testing.T) {
	s := MustNew(Config{})
	for _, cfg := range []NetworkConfig{
		{Up: Latency{Base: -1}}, {Down: Latency{Jitter: -1}}, {Connect: Latency{Tail: -1}},
		{Processing: Latency{Max: -1}}, {Up: Latency{TailShape: -2}}, {MaxIdle: -1},
	} {
		_, err := NewNetwork(s.RoundTripper(), cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, err := NewNetwork(nil, NetworkConfig{})
	assert.Error(t, err)
}
