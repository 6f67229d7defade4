package bench

// Property tests of the SDK over a simulated network (mock.Network): calls
// are metered out of send order and answered out of meter order, as on a
// real network. For every seed, memclient with its default throttle, exactly
// as a user gets it, runs a workload against the mock with Mem's published
// limits, and the mock's journal is checked:
//
//   - no 429 when nobody else uses the key;
//   - efficiency at least 0.98, or what the throttle guarantees when a long
//     answer makes that impossible (see guaranteed), where efficiency is the
//     optimum of the calls the server charged (the bucket math, see
//     optimum_test.go) divided by the time from the server's first metering
//     to its last (for W4: the share of the tokens the neighbour left that
//     the client used).
//
// W4's noisy neighbour runs twice. At its full 620 calls (W4-full) it is
// held to its goals: at most 1% of the calls sent are 429s, efficiency
// 0.98. Shortened to 130 calls (W4), it misses both in some runs and is
// held to weaker bounds that catch a regression (see knownGaps): the one
// 429 a run that finds the neighbour's spending is already 0.8% of 130,
// and the drift reserve's one-time delay weighs on a run this short. A
// second process starting on the key without a shared store (goal: at
// most one 429 per process start) is held to knownGaps too: two throttles
// that each learn of the other only from answers still race for the same
// refill. What the last record run measured is in bench/RESULTS.md
// ("Network property tests").
//
// Seeds per (workload, network profile): 48 divided by the workload's
// weight (a quarter with -short), so 288 per cold burst over the six
// profiles, 36–48 per W1–W6 workload and 12 for W4-full; the package
// stays well under a minute under -race. MEMBENCH_SEEDS=N runs N per pair
// (the record run: MEMBENCH_SEEDS=1667 is 10,000 per workload). A failing pair prints its
// first failing seed's trace; MEMBENCH_SEED=S runs only seed S and with -v
// prints its trace; select the pair with -run, e.g.
//
//	MEMBENCH_SEED=17 go test ./bench -run 'TestNetworkProperties/cold-7-c4/jitter-20ms' -v
//
// A seed fixes every delay the network draws, in the order calls reach it;
// the order in which goroutines reach it is the Go scheduler's, so a seed
// reproduces a failure often, not always (one that W4-full's seed 9 met
// before 2f48743 came in about one try in ten).

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
)

// netProfile is a network between the client and the mock.
type netProfile struct {
	name string
	cfg  mock.NetworkConfig // Seed is set per run
}

var netProfiles = []netProfile{
	{"zero", mock.NetworkConfig{}},
	// 20 ms ± 30 ms each way: uniform in [0, 50 ms) (20 − 30 clipped at 0).
	{"jitter-20ms", mock.NetworkConfig{Up: mock.Latency{Jitter: 50 * time.Millisecond}, Down: mock.Latency{Jitter: 50 * time.Millisecond}}},
	// 100 ms ± 100 ms each way: uniform in [0, 200 ms).
	{"jitter-100ms", mock.NetworkConfig{Up: mock.Latency{Jitter: 200 * time.Millisecond}, Down: mock.Latency{Jitter: 200 * time.Millisecond}}},
	// Each direction 5 ms plus a Pareto tail of scale 10 ms (median 11 ms,
	// one in a hundred past 200 ms), capped at 2 s.
	{"heavy-tail", mock.NetworkConfig{
		Up:   mock.Latency{Base: 5 * time.Millisecond, Tail: 10 * time.Millisecond, Max: 2 * time.Second},
		Down: mock.Latency{Base: 5 * time.Millisecond, Tail: 10 * time.Millisecond, Max: 2 * time.Second}}},
	// 10–20 ms each way, a new connection 50–150 ms, and a pool that
	// keeps 2 idle connections (Go's default per host).
	{"connect", mock.NetworkConfig{
		Up: mock.Latency{Base: 10 * time.Millisecond, Jitter: 10 * time.Millisecond}, Down: mock.Latency{Base: 10 * time.Millisecond, Jitter: 10 * time.Millisecond},
		Connect: mock.Latency{Base: 50 * time.Millisecond, Jitter: 100 * time.Millisecond}, MaxIdle: 2}},
	// A server that takes one call at a time, 20–50 ms each, over 10–30 ms
	// each way.
	{"sequential", mock.NetworkConfig{
		Up: mock.Latency{Base: 10 * time.Millisecond, Jitter: 20 * time.Millisecond}, Down: mock.Latency{Base: 10 * time.Millisecond, Jitter: 20 * time.Millisecond},
		Processing: mock.Latency{Base: 20 * time.Millisecond, Jitter: 30 * time.Millisecond}, Sequential: true}},
}

// netWorkload is a workload for the property tests: a workload, and maybe a
// second process (its own client and throttle, same key) starting mid-run.
type netWorkload struct {
	workload
	second *process
	// cost is a rough weight of one run, for the seed budget: heavier
	// workloads get fewer seeds.
	cost int
	// atGoals holds a workload with another consumer on the key to the
	// goals themselves rather than to knownGaps.
	atGoals bool
}

type process struct {
	at         time.Duration // start, from the first process's start
	goroutines int
	tasks      []task
}

// netSizes are W1–W6 shortened for many seeds.
var netSizes = sizes{w1MemIt: 8, w2Creates: 130, w3MemIt: 6, w3Chains: 30, w6MemIt: 212}

// memItsAndCreates interleaves m mem-it calls evenly among c note creates.
func memItsAndCreates(prefix string, m, c int) []task {
	mi, cr := memIts(prefix, m), creates(prefix, c)
	out := make([]task, 0, m+c)
	for len(mi)+len(cr) > 0 {
		if len(mi) > 0 && (len(cr) == 0 || len(out)*m >= (m-len(mi))*(m+c)) {
			out, mi = append(out, mi[0]), mi[1:]
			continue
		}
		out, cr = append(out, cr[0]), cr[1:]
	}
	return out
}

func netWorkloads() []netWorkload {
	var ws []netWorkload
	for _, n := range []int{7, 12, 20} {
		for _, c := range []int{4, 8, 32} {
			ws = append(ws, netWorkload{workload: workload{name: fmt.Sprintf("cold-%d-c%d", n, c), goroutines: c, tasks: memIts("cold", n)}, cost: 1})
		}
	}
	ws = append(ws,
		netWorkload{workload: workload{name: "mixed-6+60-c16", goroutines: 16, tasks: memItsAndCreates("mixed", 6, 60)}, cost: 3},
		netWorkload{workload: workload{name: "mixed-12+120-c32", goroutines: 32, tasks: memItsAndCreates("mixed", 12, 120)}, cost: 6},
	)
	for _, w := range workloads(netSizes) {
		if w.name == "W3b" { // full size by design: too heavy for many seeds
			continue
		}
		cost := map[string]int{"W1": 1, "W2": 6, "W3": 7, "W4": 7, "W5": 6, "W6": 8}[w.name]
		ws = append(ws, netWorkload{workload: w, cost: cost})
	}
	// W4 at its full 620 calls, the length its goals are set for: the
	// drift reserve's one-time delay weighs on the shortened run above.
	full := workloads(fullSizes)
	w4 := full[slices.IndexFunc(full, func(w workload) bool { return w.name == "W4" })]
	w4.name = "W4-full"
	ws = append(ws, netWorkload{workload: w4, cost: 35, atGoals: true})
	ws = append(ws,
		netWorkload{workload: workload{name: "second-memit", goroutines: 4, tasks: memIts("first", 12)},
			second: &process{at: 30 * time.Second, goroutines: 4, tasks: memIts("second", 8)}, cost: 2},
		netWorkload{workload: workload{name: "second-notes", goroutines: 8, tasks: creates("first", 150)},
			second: &process{at: 20 * time.Second, goroutines: 8, tasks: creates("second", 60)}, cost: 6},
	)
	return ws
}

// netSeeds is how many seeds to run per (workload, profile) pair.
func netSeeds(w netWorkload) int {
	if s := os.Getenv("MEMBENCH_SEEDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	n := 48 / w.cost
	if testing.Short() {
		n = max(1, n/4)
	}
	return max(2, n)
}

// netCall is one call as the client and the server saw it.
type netCall struct {
	proc                    int // 0 or 1 (the second process)
	sent, metered, answered time.Time
	status                  int
	remaining               string // X-Complexity-Remaining / X-RateLimit-Remaining as answered
	reqID                   string
	memIt                   bool
}

// netResult is one seed's run.
type netResult struct {
	seed       uint64
	n429       [2]int // by process
	calls      int    // calls sent (attempts), both processes
	span       time.Duration
	optimum    time.Duration
	efficiency float64
	failed     int // calls that returned an error to the caller
	log        []netCall
}

// recorder is the transport under a client's throttle: it notes when each
// attempt was sent and answered, and what the answer said.
type recorder struct {
	proc int
	next http.RoundTripper
	mu   *sync.Mutex
	log  *[]netCall
}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := netCall{proc: r.proc, sent: time.Now(), memIt: strings.HasSuffix(req.URL.Path, "/mem-it")}
	resp, err := r.next.RoundTrip(req)
	c.answered = time.Now()
	if err == nil {
		c.status = resp.StatusCode
		c.reqID = resp.Header.Get("X-Request-Id")
		c.remaining = resp.Header.Get(headers.ComplexityRemaining) + "/" + resp.Header.Get(headers.RateLimitRemaining)
	}
	r.mu.Lock()
	*r.log = append(*r.log, c)
	r.mu.Unlock()
	return resp, err
}

// netClient is memclient as a user builds it (its own default throttle)
// over the network, with a recorder underneath.
func netClient(nw http.RoundTripper, proc int, mu *sync.Mutex, log *[]netCall) *sdk {
	c, err := memclient.New(memclient.WithAPIKey(mock.DefaultKey), memclient.WithBaseURL(baseURL),
		memclient.WithTransport(recorder{proc: proc, next: nw, mu: mu, log: log}))
	if err != nil {
		panic(err)
	}
	return &sdk{c: c, pauses: &pauses{}}
}

// runProcess runs tasks from goroutines on a, and returns when all are done.
func runProcess(ctx context.Context, a api, goroutines int, tasks []task, o *outcome) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) {
					return
				}
				do(ctx, a, tasks[i], o)
			}
		})
	}
	wg.Wait()
}

// netRun runs w over profile p with seed, in a synctest bubble.
func netRun(t *testing.T, w netWorkload, p netProfile, seed uint64) netResult {
	res := netResult{seed: seed}
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Seed: seed, JournalSize: 1 << 20})
		drain(t, srv, w.drain)
		if err := srv.SetFaults(mock.Faults{Neighbour: w.neighbour}); err != nil {
			t.Fatal(err)
		}
		cfg := p.cfg
		cfg.Seed = seed
		nw, err := mock.NewNetwork(srv.RoundTripper(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		ctx := context.Background()
		start := time.Now()
		o := &outcome{failedIDs: map[string]bool{}, acked: map[string]string{}, errs: map[string]int{}}
		var wg sync.WaitGroup
		wg.Go(func() { runProcess(ctx, netClient(nw, 0, &mu, &res.log), w.goroutines, w.tasks, o) })
		if s := w.second; s != nil {
			wg.Go(func() {
				time.Sleep(s.at)
				runProcess(ctx, netClient(nw, 1, &mu, &res.log), s.goroutines, s.tasks, o)
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		res.failed = o.failed
		res.measure(srv, w, elapsed)
	})
	return res
}

// measure reads the journal: 429s, the span from the first metering to the
// last charged one, and the optimum of what the server charged.
func (res *netResult) measure(srv *mock.Server, w netWorkload, elapsed time.Duration) {
	metered := map[string]time.Time{}
	var first, last time.Time
	var spent plan
	var charged [2]int64
	for i, e := range srv.Journal() {
		metered[e.RequestID] = e.Time
		if first.IsZero() {
			first = e.Time
		}
		if e.RequestCost > 0 {
			last = e.Time
		}
		if i < w.drain {
			continue
		}
		charged[0] += e.RequestCost
		charged[1] += e.ComplexityCost
		switch {
		case e.ComplexityCost >= costMemIt.Complexity:
			spent.memIt++
		case e.RequestCost > 0:
			spent.one++
		}
	}
	for i := range res.log {
		c := &res.log[i]
		c.metered = metered[c.reqID]
		if c.status == http.StatusTooManyRequests {
			res.n429[c.proc]++
		}
	}
	res.calls = len(res.log)
	res.span = last.Sub(first)
	res.optimum = w.optimum(spent)
	if w.neighbour != nil {
		lv, _ := srv.Levels(mock.DefaultKey)
		res.optimum, _ = neighbourOptimum(spent, elapsed, charged, [2]mock.BucketLevel{lv.RequestsMinute, lv.ComplexityMinute})
		res.span = elapsed
	}
	res.efficiency = 1
	if res.span > 0 {
		res.efficiency = float64(res.optimum) / float64(res.span)
	}
}

// knownGaps are the bounds the workloads with other consumers on the key
// are held to until they meet the goals (see the file's comment): each
// beyond the worst of the 10,002 seeds per workload measured, so that a
// regression fails and a rare seed does not.
var knownGaps = struct {
	neighbour429s       float64 // share of calls sent (goal 0.01)
	neighbourEfficiency float64 // (goal 0.98)
	second429s          int     // per process (goal 1)
	secondEfficiency    float64 // (goal 0.98)
}{neighbour429s: 0.03, neighbourEfficiency: 0.63, second429s: 12, secondEfficiency: 0.78}

// guaranteed is the efficiency the throttle promises alone on its key: the
// optimum, plus the refill of one answer's latency for the burst that takes
// the full bucket below its limit (the server's bucket earns no refill until
// a call arrives, the mirror's none until its answer), plus the cold-start
// probe's round trip. Both are at most the run's longest round trip; under
// a heavy tail that can be seconds.
func (res netResult) guaranteed() float64 {
	var rtt time.Duration
	for _, c := range res.log {
		rtt = max(rtt, c.answered.Sub(c.sent))
	}
	return float64(res.optimum) / float64(res.optimum+2*rtt)
}

// problems lists what the run broke.
func (res netResult) problems(w netWorkload) []string {
	var out []string
	goal := 0.98
	switch {
	case w.neighbour != nil:
		bound, eff := knownGaps.neighbour429s, knownGaps.neighbourEfficiency
		if w.atGoals {
			bound, eff = 0.01, goal
		}
		if n := res.n429[0]; float64(n) > bound*float64(res.calls) {
			out = append(out, fmt.Sprintf("%d 429s in %d calls (over %.0f%%; goal 1%%)", n, res.calls, 100*bound))
		}
		goal = eff
	case w.second != nil:
		for p, n := range res.n429 {
			if n > knownGaps.second429s {
				out = append(out, fmt.Sprintf("process %d: %d 429s (bound %d; goal 1 per process start)", p+1, n, knownGaps.second429s))
			}
		}
		goal = knownGaps.secondEfficiency
	default:
		if n := res.n429[0]; n > 0 {
			out = append(out, fmt.Sprintf("%d 429s", n))
		}
	}
	if w.neighbour == nil && w.second == nil {
		goal = min(goal, res.guaranteed())
	}
	if res.efficiency < goal {
		out = append(out, fmt.Sprintf("efficiency %.3f (optimum %v, first to last metering %v)", res.efficiency, res.optimum.Round(time.Millisecond), res.span.Round(time.Millisecond)))
	}
	if res.failed > 0 {
		out = append(out, fmt.Sprintf("%d calls failed", res.failed))
	}
	return out
}

// trace formats a run's calls compactly: each call (in send order) with its
// send, metering and answer times from the start, its status and the
// Remaining it was answered with; then the metering order and the answer
// order, in send indices. A long run is shortened unless full is set.
func (res netResult) trace(full bool) string {
	log := slices.Clone(res.log)
	sort.SliceStable(log, func(i, j int) bool { return log[i].sent.Before(log[j].sent) })
	if len(log) == 0 {
		return "(no calls)"
	}
	t0 := log[0].sent
	ms := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%.3f", t.Sub(t0).Seconds())
	}
	var b strings.Builder
	b.WriteString("  #  proc kind    sent     metered   answered  status remaining(cpx/req)\n")
	gap := false
	for i, c := range log {
		if !full && !traceShows(log, i) {
			gap = true
			continue
		}
		if gap {
			b.WriteString("  ...\n")
			gap = false
		}
		kind := "call"
		if c.memIt {
			kind = "mem-it"
		}
		fmt.Fprintf(&b, "%3d  %d    %-6s %8s %9s %10s  %3d    %s\n", i, c.proc+1, kind, ms(c.sent), ms(c.metered), ms(c.answered), c.status, c.remaining)
	}
	if gap {
		b.WriteString("  ...\n")
	}
	idx := make([]int, len(log))
	for i := range idx {
		idx[i] = i
	}
	order := func(at func(netCall) time.Time) string {
		o := slices.Clone(idx)
		sort.SliceStable(o, func(a, b int) bool { return at(log[o[a]]).Before(at(log[o[b]])) })
		if len(o) > 80 && !full {
			return fmt.Sprint(o[:80]) + " ..."
		}
		return fmt.Sprint(o)
	}
	fmt.Fprintf(&b, "  metering order: %s\n  answer order:   %s\n", order(func(c netCall) time.Time { return c.metered }), order(func(c netCall) time.Time { return c.answered }))
	return b.String()
}

// traceShows reports whether the trace prints call i of log: all of a short
// run; of a long one the first 12 calls, the last 3, and 4 either side of
// each 429 and of each process start.
func traceShows(log []netCall, i int) bool {
	if len(log) <= 40 || i < 12 || i >= len(log)-3 {
		return true
	}
	for j := max(0, i-4); j <= min(len(log)-1, i+4); j++ {
		if log[j].status == http.StatusTooManyRequests || (j > 0 && log[j].proc != log[j-1].proc && log[j].proc == 1) {
			return true
		}
	}
	return false
}

// netSummary is one (workload, profile) pair over its seeds.
type netSummary struct {
	workload, profile string
	seeds             int
	failing           int // seeds that broke a property
	with429           int // seeds with any 429
	n429              int // 429s over all seeds
	effs              []float64
}

func (s netSummary) row() string {
	slices.Sort(s.effs)
	q := func(p float64) float64 { return s.effs[int(math.Round(p*float64(len(s.effs)-1)))] }
	return fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %.3f | %.3f | %.3f |", s.workload, s.profile, s.seeds, s.failing, s.with429, s.n429, q(0), q(0.1), q(0.5))
}

// TestNetworkProperties runs every network workload over every profile for
// many seeds and checks the properties above. With -v it prints a table of
// the failure rates and the efficiency distribution per pair.
func TestNetworkProperties(t *testing.T) {
	var only *uint64
	if s := os.Getenv("MEMBENCH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MEMBENCH_SEED=%q: %v", s, err)
		}
		only = &v
	}
	var mu sync.Mutex
	var rows []netSummary
	t.Cleanup(func() {
		if len(rows) == 0 {
			return
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].workload < rows[j].workload })
		var b strings.Builder
		b.WriteString("| workload | network | seeds | failing | seeds with 429 | 429s | eff min | eff p10 | eff p50 |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rows {
			b.WriteString(r.row() + "\n")
		}
		t.Log("\n" + b.String())
	})
	for _, w := range netWorkloads() {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			for _, p := range netProfiles {
				t.Run(p.name, func(t *testing.T) {
					seeds := make([]uint64, 0, netSeeds(w))
					if only != nil {
						seeds = append(seeds, *only)
					} else {
						for s := range uint64(cap(seeds)) {
							seeds = append(seeds, s+1)
						}
					}
					sum := netSummary{workload: w.name, profile: p.name, seeds: len(seeds)}
					var shown int
					for _, seed := range seeds {
						res := netRun(t, w, p, seed)
						sum.effs = append(sum.effs, res.efficiency)
						n := res.n429[0] + res.n429[1]
						sum.n429 += n
						if n > 0 {
							sum.with429++
						}
						probs := res.problems(w)
						if only != nil {
							t.Logf("seed %d: %d calls, efficiency %.4f, 429s %v\n%s", seed, res.calls, res.efficiency, res.n429, res.trace(true))
						}
						if len(probs) == 0 {
							continue
						}
						sum.failing++
						if shown < 1 {
							shown++
							t.Errorf("seed %d: %s\n%s", seed, strings.Join(probs, "; "), res.trace(false))
						}
					}
					if sum.failing > 0 {
						t.Errorf("%d of %d seeds broke a property (%d with a 429)", sum.failing, sum.seeds, sum.with429)
					}
					mu.Lock()
					rows = append(rows, sum)
					mu.Unlock()
				})
			}
		})
	}
}

// TestSecondProcessOverlap measures how a second process without a shared
// store fares the longer the first one keeps the key drained: the first
// spends each mem-it's 40 complexity tokens as they refill and never sees
// the second, whose tries it wins, so the second meets a 429 on each try
// until the first is done (see README, "Known limitations"). It logs the
// 429s of each process per run, by length of the overlap, and fails when
// the second's grow faster than one per 20 s of overlap: today about one
// per 33 s.
func TestSecondProcessOverlap(t *testing.T) {
	const seeds = 10
	for _, n := range []int{12, 36, 72} {
		w := netWorkload{workload: workload{name: fmt.Sprintf("overlap-%d", n), goroutines: 4, tasks: memIts("first", n)},
			second: &process{at: 30 * time.Second, goroutines: 4, tasks: memIts("second", 8)}}
		var first, second int
		var overlap time.Duration
		for seed := range uint64(seeds) {
			res := netRun(t, w, netProfiles[1], seed+1)
			first, second = first+res.n429[0], second+res.n429[1]
			overlap += res.overlap()
		}
		overlap /= seeds
		perRun := float64(second) / seeds
		t.Logf("first process %d mem-its, overlap %v: 429s a run %.1f (first), %.1f (second)", n, overlap.Round(time.Second), float64(first)/seeds, perRun)
		if limit := 2 + overlap.Seconds()/20; perRun > limit {
			t.Errorf("overlap %v: the second process met %.1f 429s a run, over %.1f", overlap.Round(time.Second), perRun, limit)
		}
	}
}

// overlap is how long both processes had calls metered: from the second's
// first metering to the first's last.
func (res netResult) overlap() time.Duration {
	var firstEnd, secondStart time.Time
	for _, c := range res.log {
		switch {
		case c.proc == 0 && c.metered.After(firstEnd):
			firstEnd = c.metered
		case c.proc == 1 && !c.metered.IsZero() && (secondStart.IsZero() || c.metered.Before(secondStart)):
			secondStart = c.metered
		}
	}
	if secondStart.IsZero() { // the second never reached the server
		return 0
	}
	return max(0, firstEnd.Sub(secondStart))
}
