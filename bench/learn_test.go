package bench

// Changed-limits workloads: the server changes its limits or its prices
// while a client runs (mock.Server.SetLimits at a fixed virtual time), or
// prices an endpoint the client does not know. The SDK (memclient with its
// default throttle, which learns limits and prices from the headers) runs
// beside x/time/rate configured at the documented limits, against the
// optimum: a replay of the mock's rules with the change at its time.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// op is one call of a changed-limits workload.
type op int

const (
	opCreate op = iota // POST /v2/notes
	opMemIt            // POST /v2/mem-it
	opSearch           // POST /v2/notes/search
	opAdded            // POST /v2/digest: an endpoint Mem has added, unknown to memclient and to the documented price list
)

// addedPath is opAdded's path; searchPattern and addedPattern name the two
// in a mock cost table.
const (
	addedPath     = "/v2/digest"
	addedPattern  = "POST " + addedPath
	searchPattern = "POST /v2/notes/search"
	memItPattern  = "POST /v2/mem-it"
)

// route is the journal's name of op's endpoint.
func (o op) route() string {
	return [...]string{"POST /v2/notes", "POST /v2/mem-it", "POST /v2/notes/search", "POST " + addedPath}[o]
}

// priceOf is what op costs under the mock's limits l.
func priceOf(o op, l mock.Limits) throttle.Cost {
	c := throttle.Cost{Requests: 1, Complexity: 1}
	pattern := ""
	switch o {
	case opMemIt:
		c.Complexity, pattern = l.MemItComplexity, memItPattern
	case opSearch:
		pattern = searchPattern
	case opAdded:
		pattern = addedPattern
	}
	if e, ok := l.Costs[pattern]; ok {
		if e.Requests > 0 {
			c.Requests = e.Requests
		}
		if e.Complexity > 0 {
			c.Complexity = e.Complexity
		}
	}
	return c
}

// limits returns Mem's published limits with f applied: the mock's
// defaults, filled in, so that replays read the same numbers.
func limits(f func(*mock.Limits)) mock.Limits {
	l := mock.DefaultLimits()
	if f != nil {
		f(&l)
	}
	return l
}

// learnWorkload is one changed-limits workload: n calls of one op from
// goroutines, limits start from time 0, then (unless at is 0) next.
type learnWorkload struct {
	name, desc string
	op         op
	n          int
	goroutines int
	start      mock.Limits
	at         time.Duration
	next       mock.Limits
	// rose is how many routes' prices rise at the change (or are above
	// the documented ones from the start): the 429 bound, with refusedInFlight.
	rose int
	// refusedInFlight is how many more calls the bound allows: those in
	// flight at the old price when the first 429 proves the rise, refused
	// too (the README's promise: one 429 per rise when calls go one at a
	// time, and the calls already in flight at the old price).
	refusedInFlight int
	// raised marks a raise of the limits: the SDK must use the new
	// headroom within one response.
	raised bool
}

// changeAt is a change time off the grid on which calls are metered (every
// 0.6 s or 12 s from 0), so that no call is metered at the instant of the
// change and "after the change" is unambiguous.
func changeAt(d time.Duration) time.Duration { return d + 300*time.Millisecond }

func learnWorkloads() []learnWorkload {
	d := mock.DefaultLimits()
	return []learnWorkload{
		{name: "L1", desc: "400 note creates, 16 goroutines; requests 100 → 50 a minute at 60.3 s",
			op: opCreate, n: 400, goroutines: 16, start: d, at: changeAt(time.Minute),
			next: limits(func(l *mock.Limits) { l.RequestsPerMinute = 50 }), rose: 1},
		{name: "L2", desc: "40 mem-it, 4 goroutines; complexity 200 → 120 a minute at 120.3 s",
			op: opMemIt, n: 40, goroutines: 4, start: d, at: changeAt(2 * time.Minute),
			next: limits(func(l *mock.Limits) { l.ComplexityPerMinute = 120 }), rose: 1},
		{name: "L3", desc: "800 note creates, 16 goroutines; requests 100 → 300 (complexity 200 → 600) a minute at 60.3 s",
			op: opCreate, n: 800, goroutines: 16, start: d, at: changeAt(time.Minute),
			next: limits(func(l *mock.Limits) { l.RequestsPerMinute, l.ComplexityPerMinute = 300, 600 }), raised: true},
		{name: "L4", desc: "40 mem-it, 4 goroutines; mem-it 40 → 60 complexity at 120.3 s",
			op: opMemIt, n: 40, goroutines: 4, start: d, at: changeAt(2 * time.Minute),
			next: limits(func(l *mock.Limits) { l.MemItComplexity = 60 }), rose: 1},
		{name: "L5", desc: "300 searches, 16 goroutines; search 1 → 5 complexity at 60.3 s",
			op: opSearch, n: 300, goroutines: 16, start: d, at: changeAt(time.Minute),
			next: limits(func(l *mock.Limits) { l.Costs = map[string]mock.Cost{searchPattern: {Complexity: 5}} }), rose: 1},
		{name: "L6", desc: "60 calls of a new endpoint priced 10 complexity, 4 goroutines",
			op: opAdded, n: 60, goroutines: 4,
			start: limits(func(l *mock.Limits) { l.Costs = map[string]mock.Cost{addedPattern: {Complexity: 10}} }), rose: 1,
			refusedInFlight: 3}, // its 4 goroutines' calls may all be in flight, unmeasured, when the bucket runs out
	}
}

// learnAPI is what a contender does for one op.
type learnAPI func(ctx context.Context, o op, i int) error

type learnContender struct {
	name string
	new  func(srv *mock.Server) (learnAPI, *throttle.Throttle)
}

var learnContenders = []learnContender{
	{"SDK (memclient + throttle)", newLearnSDK},
	{"x/time/rate (4 limiters, documented limits)", newLearnRate},
}

// newLearnSDK is memclient with its defaults, and for the endpoint memclient
// does not have, a plain http.Client over a throttle.Transport on the same
// throttle, retrying a 429 as memclient would (the throttle pauses first).
func newLearnSDK(srv *mock.Server) (learnAPI, *throttle.Throttle) {
	c, err := memclient.New(memclient.WithAPIKey(mock.DefaultKey), memclient.WithTransport(srv.RoundTripper()), memclient.WithBaseURL(baseURL))
	if err != nil {
		panic(err)
	}
	hc := &http.Client{Transport: throttle.NewTransport(c.Throttle(), srv.RoundTripper())}
	return func(ctx context.Context, o op, i int) error {
		var err error
		switch o {
		case opCreate:
			_, _, err = c.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: fmt.Sprintf("note %d\nbody", i)})
		case opMemIt:
			_, _, err = c.MemIt(ctx, &memclient.MemItRequest{Input: fmt.Sprintf("mem-it %d", i)})
		case opSearch:
			_, _, err = c.Notes.Search(ctx, &memclient.SearchNotesRequest{Query: fmt.Sprintf("q%d", i)})
		case opAdded:
			for range 10 {
				var resp *http.Response
				resp, err = hc.Do(newRequest(ctx, http.MethodPost, addedPath, []byte(`{}`)))
				if err != nil {
					return err
				}
				var status int
				status, _, err = readAll(resp)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				if status != http.StatusTooManyRequests {
					break
				}
			}
		}
		return err
	}, c.Throttle()
}

// newLearnRate is the x/time/rate contender of the main table (documented
// limits and prices: 40 for mem-it, 1 for every other call; a 429 sleeps
// Retry-After and tries again, up to 10 attempts).
func newLearnRate(srv *mock.Server) (learnAPI, *throttle.Throttle) {
	r := newRateLimited(srv).(raw)
	return func(ctx context.Context, o op, i int) error {
		switch o {
		case opCreate:
			_, err := r.call(ctx, http.MethodPost, "/v2/notes", map[string]string{"content": fmt.Sprintf("note %d\nbody", i)})
			return err
		case opMemIt:
			return r.memIt(ctx, fmt.Sprintf("mem-it %d", i))
		case opSearch:
			_, err := r.call(ctx, http.MethodPost, "/v2/notes/search", map[string]string{"query": fmt.Sprintf("q%d", i)})
			return err
		default:
			_, err := r.call(ctx, http.MethodPost, addedPath, map[string]string{})
			return err
		}
	}, nil
}

// learnResult is one row of the changed-limits table.
type learnResult struct {
	workload, contender string
	elapsed             time.Duration // until the last call returned
	optimum             time.Duration // replay of the whole run, change included
	n429, n429After     int           // 429s, and those after the change
	failed              int
	// after the change: the optimum of the calls metered after it, from
	// the server's levels at the change, against the time they took
	afterOpt, afterTook time.Duration
	// lag is the most any call after the change was metered later than
	// in that optimum.
	lag      time.Duration
	adopted  uint64            // limits the throttle adopted
	believed throttle.Cost     // what the throttle believes the op costs at the end
	policy   []throttle.Bucket // the throttle's policy at the end
	errs     map[string]int
}

func (r learnResult) efficiency() float64 { return float64(r.optimum) / float64(r.elapsed) }
func (r learnResult) afterEfficiency() float64 {
	if r.afterTook <= 0 {
		return 1
	}
	return float64(r.afterOpt) / float64(r.afterTook)
}

// runLearn runs w with one contender in its own bubble.
func runLearn(t *testing.T, w learnWorkload, c learnContender) learnResult {
	res := learnResult{workload: w.name, contender: c.name, errs: map[string]int{}}
	synctest.Test(t, func(t *testing.T) {
		cfg := mock.Config{Seed: 1, JournalSize: 1 << 20, Limits: w.start}
		srv := mock.MustNew(cfg)
		a, th := c.new(srv)
		start := time.Now()
		var atLevels mock.Levels
		changed := make(chan struct{})
		go func() {
			defer close(changed)
			if w.at > 0 {
				time.Sleep(w.at)
				if err := srv.SetLimits(w.next); err != nil {
					panic(err)
				}
				atLevels, _ = srv.Levels(mock.DefaultKey) // kept, at most the new limits
			}
		}()
		var next atomic.Int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range w.goroutines {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= w.n {
						return
					}
					if err := a(context.Background(), w.op, i); err != nil {
						mu.Lock()
						res.failed++
						res.errs[err.Error()]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		res.elapsed = time.Since(start)
		<-changed // in case the run ended first
		res.optimum = replay(fullLevels(w.start), w.start, w.at, w.next, w.op, w.n-res.failed)

		var after []time.Duration // meter times of the calls admitted after the change
		for i, e := range srv.Journal() {
			d := e.Time.Sub(start)
			if os.Getenv("MEMBENCH_TRACE") == w.name+" "+c.name[:3] {
				t.Logf("%d %s %s %d cost %d/%d", i, d, e.Path, e.Status, e.RequestCost, e.ComplexityCost)
			}
			if e.Status == http.StatusTooManyRequests {
				res.n429++
				if w.at > 0 && d > w.at {
					res.n429After++
				}
			}
			if e.Status == http.StatusOK && w.at > 0 && d > w.at {
				after = append(after, d-w.at)
			}
		}
		if w.at > 0 && len(after) > 0 {
			from := levelsOf(atLevels)
			res.afterTook = after[len(after)-1]
			res.afterOpt = replay(from, w.next, 0, w.next, w.op, len(after))
			for k, d := range after {
				res.lag = max(res.lag, d-replay(from, w.next, 0, w.next, w.op, k+1))
			}
		}
		if th != nil {
			res.adopted = th.Snapshot().Stats.LimitsAdopted
			res.believed = th.Cost(http.MethodPost, w.op.path())
			res.policy = th.Policy().Buckets
		}
	})
	return res
}

// path is op's URL path.
func (o op) path() string {
	_, p, _ := strings.Cut(o.route(), " ")
	return p
}

// bucketLevels are the four buckets' levels, in the order requests minute,
// requests day, complexity minute, complexity day.
type bucketLevels [4]float64

func fullLevels(l mock.Limits) bucketLevels {
	return bucketLevels{float64(l.RequestsPerMinute), float64(l.RequestsPerDay), float64(l.ComplexityPerMinute), float64(l.ComplexityPerDay)}
}

func levelsOf(lv mock.Levels) bucketLevels {
	return bucketLevels{lv.RequestsMinute.Tokens, lv.RequestsDay.Tokens, lv.ComplexityMinute.Tokens, lv.ComplexityDay.Tokens}
}

// replay is the mock's rules for n calls of op: the buckets at levels lv at
// time 0 under limits l, each call admitted at the earliest instant every
// bucket holds its price; at time at (if positive) the limits become next,
// levels kept (at most the new limits). It returns when the n-th call is
// admitted.
func replay(lv bucketLevels, l mock.Limits, at time.Duration, next mock.Limits, o op, n int) time.Duration {
	type bk struct{ limit, rate float64 }
	shape := func(l mock.Limits) [4]bk {
		return [4]bk{
			{float64(l.RequestsPerMinute), float64(l.RequestsPerMinute) / float64(l.Minute)},
			{float64(l.RequestsPerDay), float64(l.RequestsPerDay) / float64(l.Day)},
			{float64(l.ComplexityPerMinute), float64(l.ComplexityPerMinute) / float64(l.Minute)},
			{float64(l.ComplexityPerDay), float64(l.ComplexityPerDay) / float64(l.Day)},
		}
	}
	bs, cost := shape(l), priceOf(o, l)
	changed := at <= 0
	var now time.Duration
	advance := func(t time.Duration) {
		for i := range bs {
			lv[i] = math.Min(bs[i].limit, lv[i]+float64(t-now)*bs[i].rate)
		}
		now = t
	}
	const eps = 1e-9
	for range n {
		for {
			var wait time.Duration
			for i, b := range bs {
				c := float64(cost.Requests)
				if i >= 2 {
					c = float64(cost.Complexity)
				}
				if need := c - lv[i]; need > eps {
					wait = max(wait, time.Duration(math.Ceil(need/b.rate)))
				}
			}
			if !changed && now+wait > at { // on a tie, the old price: the optimum is a lower bound
				advance(at)
				bs, cost, changed = shape(next), priceOf(o, next), true
				for i := range bs {
					lv[i] = math.Min(lv[i], bs[i].limit)
				}
				continue
			}
			advance(now + wait)
			for i := range bs {
				if i < 2 {
					lv[i] -= float64(cost.Requests)
				} else {
					lv[i] -= float64(cost.Complexity)
				}
			}
			break
		}
	}
	return now
}

// TestReplayMatchesOptimum checks the replay against Policy.Optimum where
// both apply (no change).
func TestReplayMatchesOptimum(t *testing.T) {
	d := mock.DefaultLimits()
	for _, tc := range []struct {
		o    op
		n    int
		want time.Duration
	}{
		{opMemIt, 50, throttle.DefaultPolicy().Optimum(throttle.Calls{N: 50, Cost: costMemIt})},
		{opCreate, 1000, throttle.DefaultPolicy().Optimum(throttle.Calls{N: 1000, Cost: costOne})},
		{opCreate, 100, 0},
	} {
		got := replay(fullLevels(d), d, 0, d, tc.o, tc.n)
		if diff := got - tc.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("%d × op %d: replay %v, Optimum %v", tc.n, tc.o, got, tc.want)
		}
	}
	// 100 → 50 at 60 s: 100 at once, 100 more by 60 s, then one every 1.2 s.
	got := replay(fullLevels(d), d, time.Minute, limits(func(l *mock.Limits) { l.RequestsPerMinute = 50 }), opCreate, 250)
	if want := time.Minute + 50*1200*time.Millisecond; got < want-time.Millisecond || got > want+time.Millisecond {
		t.Errorf("lowered: replay %v, want %v", got, want)
	}
}

// runLearnTable runs every changed-limits workload with every contender,
// checks the SDK's goals on each (a subtest per workload), and returns the
// table. The goals:
//
//   - at most one 429 per route whose price rose, or per lowered limit, and
//     none when limits rise;
//   - after the change, the calls take at most 1/0.98 of the optimum from the
//     server's state at the change (the new optimum), and the whole run at
//     most 1/0.98 of its optimum;
//   - after a raise, no call is metered later than in that optimum by more
//     than one interval at the old pace (the new headroom is used from the
//     first response that shows it);
//   - the throttle ends believing the server's prices.
func runLearnTable(t *testing.T) string {
	var rows []learnResult
	for _, w := range learnWorkloads() {
		for _, c := range learnContenders {
			r := runLearn(t, w, c)
			rows = append(rows, r)
			if c.name == learnContenders[0].name {
				t.Run("changed-limits/"+w.name, func(t *testing.T) { checkLearn(t, w, r) })
			}
		}
	}
	return learnTable(rows)
}

func checkLearn(t *testing.T, w learnWorkload, r learnResult) {
	t.Logf("%s: %d 429s (%d after the change), efficiency %.3f, after the change %.3f (%s for %s), lag %s, limits adopted %d, believed %+v, failed %d %v",
		w.name, r.n429, r.n429After, r.efficiency(), r.afterEfficiency(), dur(r.afterTook), dur(r.afterOpt), r.lag, r.adopted, r.believed, r.failed, r.errs)
	if r.failed > 0 {
		t.Errorf("%d calls failed: %v", r.failed, r.errs)
	}
	want := w.start
	if w.at > 0 {
		want = w.next
		if e := r.afterEfficiency(); e < 0.98 {
			t.Errorf("after the change: %s where the optimum is %s: efficiency %.3f < 0.98", dur(r.afterTook), dur(r.afterOpt), e)
		}
	}
	if e := r.efficiency(); e < 0.98 {
		t.Errorf("whole run: efficiency %.3f < 0.98", e)
	}
	if w.raised {
		oldPace := w.start.Minute / time.Duration(w.start.RequestsPerMinute)
		if r.lag > oldPace {
			t.Errorf("after the raise a call was metered %s later than optimal (one old interval is %s)", r.lag, oldPace)
		}
	}
	if got, want := r.believed, priceOf(w.op, want); got != want {
		t.Errorf("the throttle believes %s costs %+v, the server charges %+v", w.op.route(), got, want)
	}
	if bound := w.rose + w.refusedInFlight; r.n429 > bound {
		t.Errorf("%d 429s, bound %d", r.n429, bound)
	}
}

// learnTable formats the rows in Markdown.
func learnTable(rows []learnResult) string {
	var b []byte
	b = append(b, "| workload | contender | virtual time | efficiency | after the change: time / new optimum | 429s (after the change) | calls failed |\n|---|---|---:|---:|---:|---:|---:|\n"...)
	ws := learnWorkloads()
	for _, w := range ws {
		first := true
		for _, r := range rows {
			if r.workload != w.name {
				continue
			}
			name := ""
			if first {
				name = w.name + ": " + w.desc
				opt := replay(fullLevels(w.start), w.start, w.at, w.next, w.op, w.n)
				b = fmt.Appendf(b, "| %s | optimum (replay of the mock's rules) | %s | 1.000 | | 0 | 0 of %d |\n", name, dur(opt), w.n)
				first = false
			}
			after := "n/a"
			if r.afterTook > 0 {
				after = fmt.Sprintf("%s / %s = %.3f", dur(r.afterTook), dur(r.afterOpt), r.afterEfficiency())
			}
			eff := fmt.Sprintf("%.3f", r.efficiency())
			if r.failed > 0 { // failed calls are work undone, not a faster run
				eff = fmt.Sprintf("not finished: %.0f%% of calls done", 100*float64(w.n-r.failed)/float64(w.n))
			}
			b = fmt.Appendf(b, "| | %s | %s | %s | %s | %d (%d) | %d of %d |\n", r.contender, dur(r.elapsed), eff, after, r.n429, r.n429After, r.failed, w.n)
		}
	}
	return string(b)
}
