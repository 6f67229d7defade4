package bench

// Foreground latency: one key serves an import and a user at once. 500 note
// creates are queued at once at batch priority (where the contender has
// priorities), and a search starts every 5 s until the import ends, each on
// its own goroutine (open loop: a slow search does not delay the next, so
// the latencies are not flattered). The table gives the searches' latency
// from call to answer and the import's time against the optimum of every
// call the server admitted until the import ended.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

const (
	fgTable   = "foreground"
	fgNotes   = 500
	fgSplitUp = 0.9 // the hand-split limiters' share for the import
)

// fgWorkload is the import with a search every every.
type fgWorkload struct {
	name  string
	every time.Duration
}

// fgWorkloads: F1 is the (a search every 5 s: 12 request tokens a
// minute, a little more than the hand-split's 10%); F2 is a quieter user
// (a search every 20 s: 3 a minute), whose unused share the hand-split
// cannot give to the import.
var fgWorkloads = []fgWorkload{{"F1", 5 * time.Second}, {"F2", 20 * time.Second}}

func (w fgWorkload) desc() string {
	return fmt.Sprintf("%d note creates queued at once (batch) + a search every %s (interactive) until the import ends", fgNotes, dur(w.every))
}

// fgTokenInterval is the refill time of one request token at Mem's limits
// (100 a minute): the longest a search waits with priorities.
const fgTokenInterval = time.Minute / throttle.RequestsPerMinute

// fgReserve is the interactive reserve of the last SDK row.
var fgReserve = throttle.Cost{Requests: 2, Complexity: 2}

// fgAPI is what a contender does: an import call and a search.
type fgAPI struct {
	create func(ctx context.Context, i int) error
	search func(ctx context.Context, i int) error
}

type fgContender struct {
	name     string
	baseline bool
	new      func(srv *mock.Server) fgAPI
}

var fgContenders = []fgContender{
	{name: "SDK, one FIFO queue (every call default priority)", new: newFgSDK(false)},
	{name: fmt.Sprintf("x/time/rate, hand-split: %.0f%% of each minute bucket for the import, %.0f%% for the searches", 100*fgSplitUp, 100*(1-fgSplitUp)),
		baseline: true, new: newFgSplit},
	{name: "SDK with priorities (import batch, searches interactive)", new: newFgSDK(true)},
	{name: fmt.Sprintf("SDK with priorities + WithReserve(Cost{%d, %d}, 30 s)", fgReserve.Requests, fgReserve.Complexity),
		new: newFgSDK(true, throttle.WithReserve(fgReserve, 30*time.Second))},
}

// newFgSDK is memclient on a throttle made with opts; with priorities, the
// import's calls carry Batch and the searches Interactive, else neither
// carries a priority.
func newFgSDK(priorities bool, opts ...throttle.Option) func(*mock.Server) fgAPI {
	return func(srv *mock.Server) fgAPI {
		th, err := throttle.New(throttle.DefaultPolicy(), opts...)
		if err != nil {
			panic(err)
		}
		c, err := memclient.New(memclient.WithAPIKey(mock.DefaultKey), memclient.WithTransport(srv.RoundTripper()),
			memclient.WithBaseURL(baseURL), memclient.WithThrottle(th))
		if err != nil {
			panic(err)
		}
		with := func(ctx context.Context, p throttle.Priority) context.Context {
			if !priorities {
				return ctx
			}
			return throttle.WithPriority(ctx, p)
		}
		return fgAPI{
			create: func(ctx context.Context, i int) error {
				_, _, err := c.Notes.Create(with(ctx, throttle.Batch), &memclient.CreateNoteRequest{Content: fmt.Sprintf("imported note %d\nbody", i)})
				return err
			},
			search: func(ctx context.Context, i int) error {
				_, _, err := c.Notes.Search(with(ctx, throttle.Interactive), &memclient.SearchNotesRequest{Query: fmt.Sprintf("q%d", i), Limit: 5})
				return err
			},
		}
	}
}

// newFgSplit is what a careful user writes with x/time/rate to keep the
// user's calls out of the import's line: two pairs of limiters (requests
// and complexity of the minute windows, which are the ones that bind
// here), one pair at fgSplitUp of each bucket's rate and burst for the
// import, the other at the rest for the searches; WaitN on both of a pair
// for the call's cost, and on a 429 a sleep for Retry-After and another
// try, up to 10 attempts.
func newFgSplit(srv *mock.Server) fgAPI {
	hc := &http.Client{Transport: srv.RoundTripper()}
	pair := func(share float64) raw {
		req := splitLimiter(throttle.RequestsPerMinute, share)
		cx := splitLimiter(throttle.ComplexityPerMinute, share)
		return raw{func(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
			wait := func(ctx context.Context) error {
				if err := req.WaitN(ctx, int(costOne.Requests)); err != nil {
					return err
				}
				return cx.WaitN(ctx, int(costOne.Complexity))
			}
			return sendRetrying429(ctx, hc, wait, method, path, body)
		}}
	}
	imp, fg := pair(fgSplitUp), pair(1-fgSplitUp)
	return fgAPI{
		create: func(ctx context.Context, i int) error {
			_, err := imp.call(ctx, http.MethodPost, "/v2/notes", map[string]string{"content": fmt.Sprintf("imported note %d\nbody", i)})
			return err
		},
		search: func(ctx context.Context, i int) error {
			_, err := fg.call(ctx, http.MethodPost, "/v2/notes/search", map[string]any{"query": fmt.Sprintf("q%d", i), "limit": 5})
			return err
		},
	}
}

// splitLimiter is a limiter for share of a minute bucket of perMinute
// tokens: that share of its rate, and of its burst (rounded).
func splitLimiter(perMinute int64, share float64) *rate.Limiter {
	n := share * float64(perMinute)
	return rate.NewLimiter(rate.Limit(n/60), int(math.Round(n)))
}

// fgResult is one run of one contender.
type fgResult struct {
	workload  string
	contender string
	latencies []time.Duration // the searches', in no particular order
	imported  time.Duration   // until the import's last call returned
	optimum   time.Duration   // of the calls the server admitted until then
	n429      int
	failed    int // calls of either kind that returned an error
	errs      map[string]int
}

// runForeground runs w with c in its own bubble.
func runForeground(t *testing.T, w fgWorkload, c fgContender) fgResult {
	res := fgResult{workload: w.name, contender: c.name, errs: map[string]int{}}
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Seed: 1, JournalSize: 1 << 20})
		a := c.new(srv)
		ctx := context.Background()
		var mu sync.Mutex
		fail := func(err error) {
			mu.Lock()
			res.failed++
			res.errs[err.Error()]++
			mu.Unlock()
		}
		start := time.Now()
		var imports sync.WaitGroup
		for i := range fgNotes {
			imports.Go(func() {
				if err := a.create(ctx, i); err != nil {
					fail(err)
				}
			})
		}
		importDone := make(chan struct{})
		var searches sync.WaitGroup
		searches.Go(func() {
			tick := time.NewTicker(w.every)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-importDone:
					return
				case <-tick.C:
				}
				searches.Go(func() {
					began := time.Now()
					err := a.search(ctx, i)
					took := time.Since(began)
					if err != nil {
						fail(err)
						return
					}
					mu.Lock()
					res.latencies = append(res.latencies, took)
					mu.Unlock()
				})
			}
		})
		imports.Wait()
		res.imported = time.Since(start)
		close(importDone)
		searches.Wait()

		admitted := 0
		for _, e := range srv.Journal() {
			if e.Status == http.StatusTooManyRequests {
				res.n429++
			}
			if e.Status >= 200 && e.Status <= 299 && !e.Time.After(start.Add(res.imported)) {
				admitted++
			}
		}
		res.optimum = throttle.DefaultPolicy().Optimum(throttle.Calls{N: admitted, Cost: costOne})
	})
	return res
}

// percentile is the nearest-rank p-th percentile of ds (0 if empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func (r fgResult) efficiency() float64 {
	if r.imported <= 0 {
		return 1
	}
	return float64(r.optimum) / float64(r.imported)
}

// The figures of a foreground row.
const (
	figP50       = "latency p50"
	figP99       = "latency p99"
	figMaxLat    = "latency max"
	figSearches  = "searches"
	figImport    = "import seconds"
	figImportOpt = "import optimum seconds"
	figImportEff = "import efficiency"
)

// fgRow is r as a row of one run.
func fgRow(w fgWorkload, r fgResult, baseline bool) row {
	one := func(v float64) span { return span{v, v} }
	figs := map[string]span{
		figP50:       one(percentile(r.latencies, 0.50).Seconds()),
		figP99:       one(percentile(r.latencies, 0.99).Seconds()),
		figMaxLat:    one(percentile(r.latencies, 1).Seconds()),
		figSearches:  one(float64(len(r.latencies))),
		figImport:    one(r.imported.Seconds()),
		figImportOpt: one(r.optimum.Seconds()),
		figImportEff: one(r.efficiency()),
		fig429:       one(float64(r.n429)),
		figFailed:    one(float64(r.failed)),
	}
	finished := 0
	if r.failed == 0 {
		finished = 1
	}
	figs[figDone] = one(float64(fgNotes+len(r.latencies)) / float64(fgNotes+len(r.latencies)+r.failed))
	return row{Table: fgTable, Workload: w.name, Desc: w.desc(), Name: r.contender, Calls: fgNotes, Baseline: baseline, Runs: 1, Figures: figs, Finished: finished}
}

// foregroundRows runs every contender once, checks the SDK's goals on the
// run, and returns the rows.
func foregroundRows(t *testing.T) []row {
	var rows []row
	for _, w := range fgWorkloads {
		var results []fgResult
		for _, c := range fgContenders {
			r := runForeground(t, w, c)
			t.Logf("foreground %s, %s: %d searches, p50 %s p99 %s max %s; import %s (optimum %s); %d 429s; %d failed %v", w.name, r.contender, len(r.latencies),
				percentile(r.latencies, 0.5), percentile(r.latencies, 0.99), percentile(r.latencies, 1), r.imported, r.optimum, r.n429, r.failed, r.errs)
			results = append(results, r)
			rows = append(rows, fgRow(w, r, c.baseline))
		}
		checkForeground(t, results)
	}
	return rows
}

// checkForeground asserts the goals of priorities on one run (the rows in
// fgContenders' order):
//
//   - every SDK row: no call fails, no 429 (nobody else is on the key), and
//     the import within 2% of the optimum of the calls admitted meanwhile;
//   - with priorities, every search answered within 1 s (the next token:
//     0.6 s at most); with the reserve, every search at once;
//   - one FIFO queue keeps a search behind the import's queued calls: its
//     p99 is above the priorities' max.
func checkForeground(t *testing.T, rs []fgResult) {
	t.Helper()
	fifo, prio, reserve := rs[0], rs[2], rs[3]
	for i, r := range rs {
		if fgContenders[i].baseline {
			continue
		}
		if r.failed > 0 || r.n429 > 0 {
			t.Errorf("foreground %s, %s: %d calls failed, %d 429s: %v", r.workload, r.contender, r.failed, r.n429, r.errs)
		}
		if e := r.efficiency(); e < 0.98 {
			t.Errorf("foreground %s, %s: import %s against an optimum of %s: efficiency %.3f < 0.98", r.workload, r.contender, r.imported, r.optimum, e)
		}
		if len(r.latencies) == 0 {
			t.Errorf("foreground %s, %s: no search answered", r.workload, r.contender)
		}
	}
	if m := percentile(prio.latencies, 1); m > time.Second {
		t.Errorf("foreground %s, %s: a search waited %s (goal: 1 s at most)", prio.workload, prio.contender, m)
	}
	if m := percentile(reserve.latencies, 1); m != 0 {
		t.Errorf("foreground %s, %s: a search waited %s (goal: none)", reserve.workload, reserve.contender, m)
	}
	if f, p := percentile(fifo.latencies, 0.99), percentile(prio.latencies, 1); f <= p {
		t.Errorf("foreground %s: one FIFO queue's p99 %s is not above the priorities' max %s", fifo.workload, f, p)
	}
}

// TestForegroundFigures checks the percentile and that the comparison with
// the committed figures catches a search slower than its committed range.
func TestForegroundFigures(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		ds := make([]time.Duration, len(v))
		for i, x := range v {
			ds[i] = time.Duration(x) * time.Millisecond
		}
		return ds
	}
	for _, tc := range []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(600, 0, 200, 400), 0.5, 200 * time.Millisecond},
		{ms(600, 0, 200, 400), 0.99, 600 * time.Millisecond},
		{ms(600, 0, 200, 400), 1, 600 * time.Millisecond},
		{ms(5), 0.01, 5 * time.Millisecond},
	} {
		if got := percentile(tc.ds, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.ds, tc.p, got, tc.want)
		}
	}
	w := fgWorkloads[0]
	r := fgResult{contender: fgContenders[2].name, latencies: ms(0, 200, 400, 600), imported: 272 * time.Second, optimum: 272 * time.Second}
	committed := &figures{Runs: 1, Rows: []row{fgRow(w, r, false)}}
	if d := compare(committed, []row{fgRow(w, r, false)}); len(d) != 0 {
		t.Errorf("the same run: %q", d)
	}
	slow := r
	slow.latencies = ms(0, 200, 400, 5000)
	if d := compare(committed, []row{fgRow(w, slow, false)}); len(d) != 2 { // p99 and max
		t.Errorf("a search 4.4 s slower: %d differences %q, want 2", len(d), d)
	}
}
