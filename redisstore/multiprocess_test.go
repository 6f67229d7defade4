package redisstore_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Mem's limits with a minute that lasts one second and a day of 24 seconds,
// as the mock and the throttle both see them.
const (
	fastMinute = time.Second
	fastDay    = 24 * time.Second
)

func fastPolicy() throttle.Policy {
	p := throttle.DefaultPolicy()
	for i := range p.Buckets {
		if p.Buckets[i].Window == headers.Minute {
			p.Buckets[i].Period = fastMinute
		} else {
			p.Buckets[i].Period = fastDay
		}
	}
	return p
}

var (
	buildOnce   sync.Once
	importerBin string
	buildErr    error
)

// buildImporter builds internal/importer once per test binary.
func buildImporter(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "redisstore-importer")
		if err != nil {
			buildErr = err
			return
		}
		importerBin = filepath.Join(dir, "importer")
		// go test puts the go command that runs it first in PATH.
		out, err := exec.Command("go", "build", "-o", importerBin, "./internal/importer").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./internal/importer: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return importerBin
}

// importerSummary mirrors internal/importer's Summary.
type importerSummary struct {
	Proc        int     `json:"proc"`
	Created     int64   `json:"created"`
	Existed     int64   `json:"existed"`
	Failures    int64   `json:"failures"`
	Admitted    uint64  `json:"admitted"`
	RateLimited uint64  `json:"rate_limited"`
	Fallbacks   uint64  `json:"fallbacks"`
	Returns     uint64  `json:"returns"`
	RedisErrors uint64  `json:"redis_errors"`
	SlowestMS   float64 `json:"slowest_ms"`
	Seconds     float64 `json:"seconds"`
}

type importRun struct {
	procs, perProc, conc int
	// timeout, if set, bounds each Redis call of the importers' stores
	// (Options.Timeout; the default otherwise).
	timeout time.Duration
	// during, if set, runs while the importers do (e.g. kills Redis); it
	// may ask how many calls the server has charged so far.
	during func(charged func() int)
	// audit compares, while the importers run, the levels in Redis with
	// the server's (see auditLevels). Only while Redis answers throughout.
	audit bool
}

type importResult struct {
	summaries  []importerSummary
	admitted   int // calls the server charged
	efficiency float64
	span       time.Duration
	optimum    time.Duration
	count429   int
	stderr     []string
	audit      levelAudit
}

// runImport starts r.procs importer processes against one mock key and one
// Redis, waits for them, and checks that every note arrived exactly once.
func runImport(t *testing.T, rs *redisServer, r importRun) importResult {
	bin := buildImporter(t)
	const key = "multi-process-key"
	srv, err := mock.NewLoopback(mock.Config{
		Keys:        []string{key},
		Limits:      mock.Limits{Minute: fastMinute, Day: fastDay},
		JournalSize: r.procs*r.perProc*2 + 100,
	})
	require.NoError(t, err)
	defer srv.Close()

	var res importResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	share := 1 / float64(r.procs)
	for p := range r.procs {
		cmd := exec.Command(bin, "-url", srv.URL, "-key", key, "-redis", rs.Addr,
			"-proc", strconv.Itoa(p), "-n", strconv.Itoa(r.perProc), "-conc", strconv.Itoa(r.conc),
			"-share", strconv.FormatFloat(share, 'g', -1, 64),
			"-minute", fastMinute.String(), "-day", fastDay.String())
		if r.timeout > 0 {
			cmd.Args = append(cmd.Args, "-timeout", r.timeout.String())
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Start())
		wg.Go(func() {
			err := cmd.Wait()
			mu.Lock()
			defer mu.Unlock()
			sc := bufio.NewScanner(&stderr)
			for sc.Scan() {
				res.stderr = append(res.stderr, fmt.Sprintf("proc %d: %s", p, sc.Text()))
			}
			if !assert.NoError(t, err, "importer %d", p) {
				return
			}
			var s importerSummary
			if assert.NoError(t, json.Unmarshal(stdout.Bytes(), &s), "importer %d: %q", p, stdout.String()) {
				res.summaries = append(res.summaries, s)
			}
		})
	}
	var audited sync.WaitGroup
	done := make(chan struct{})
	if r.audit {
		audited.Go(func() { res.audit = auditLevels(t, rs, srv.Server, key, r.procs*r.conc, done) })
	}
	if r.during != nil {
		r.during(func() int { return chargedCalls(srv.Server) })
	}
	wg.Wait()
	close(done)
	audited.Wait()
	for _, line := range res.stderr {
		t.Log(line)
	}

	// Nothing lost, nothing twice.
	want := map[string]bool{}
	for p := range r.procs {
		for i := range r.perProc {
			want[noteID(p, i)] = true
		}
	}
	got := map[string]int{}
	for _, n := range srv.Notes(key) {
		got[n.ID]++
	}
	assert.Len(t, got, len(want), "every note arrived")
	for id := range want {
		assert.Equal(t, 1, got[id], "note %s exactly once", id)
	}

	// The journal: span of the admitted calls, and 429s.
	var first, last time.Time
	admitted := 0
	for _, e := range srv.Journal() {
		if e.RequestCost == 0 {
			continue
		}
		if first.IsZero() {
			first = e.Time
		}
		last = e.Time
		admitted++
	}
	// Calls admitted per half second: where the time went (at Mem's rate, 50).
	var perHalf []int
	for _, e := range srv.Journal() {
		if e.RequestCost == 0 {
			continue
		}
		i := int(e.Time.Sub(first) / (500 * time.Millisecond))
		for len(perHalf) <= i {
			perHalf = append(perHalf, 0)
		}
		perHalf[i]++
	}
	t.Logf("calls admitted per 0.5 s: %v", perHalf)
	res.count429 = srv.Count429()
	if res.count429 > 0 { // say when: the first calls (cold start), a fallback, or steady state
		for _, e := range srv.Journal() {
			if e.Status == 429 {
				t.Logf("429 at %s into the run", e.Time.Sub(first).Round(time.Millisecond))
			}
		}
	}
	res.admitted = admitted
	res.span = last.Sub(first)
	res.optimum = fastPolicy().Optimum(throttle.Calls{N: admitted, Cost: throttle.Cost{Requests: 1, Complexity: 1}})
	if res.span > 0 {
		res.efficiency = float64(res.optimum) / float64(res.span)
	}
	t.Logf("%d processes × %d notes (%d calls admitted): span %s, optimum %s, efficiency %.3f, 429s %d",
		r.procs, r.perProc, admitted, res.span.Round(time.Millisecond), res.optimum.Round(time.Millisecond), res.efficiency, res.count429)
	for _, s := range res.summaries {
		t.Logf("  %+v", s)
	}
	return res
}

func noteID(proc, i int) string {
	// Must match internal/importer.NoteID.
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "redisstore-import/%d/%d", proc, i)).String()
}

// Four OS processes import 400 notes through memclient on one key, sharing
// their throttle state in Redis, against the mock with Mem's limits (a
// minute of 1 s, a day of 24 s). What is asserted holds however loaded the
// machine is, and breaks when the shared budget does:
//   - no 429: the server, on its own clock, never found the key over a limit;
//   - the accounting: every call the throttles let through reached the
//     server and was charged there once (400 throttle admissions, 400 calls
//     charged, 400 notes), and Redis's buckets tracked the server's within
//     the calls in flight (auditLevels).
//
// The efficiency (the optimum over the span) is logged, not asserted: with
// real processes on a shared machine, their scheduling sets it as much as
// the throttle does. The throttle's pace is asserted on a fake clock
// (throttle and bench tests).
//
// Redis answers throughout, and the stores wait up to 1 s for it: on a
// loaded 2-core machine (the root module's race tests beside these, as in
// CI), a Redis call took over the default 100 ms now and then, and a
// store that fell back made the run fail ("Redis answered throughout")
// or, alone on its local share beside the others on Redis, met 429s. The
// fallback has tests of its own.
func TestMultiProcessImport(t *testing.T) {
	rs := startRedis(t)
	const procs, perProc = 4, 100
	res := runImport(t, rs, importRun{procs: procs, perProc: perProc, conc: 4, audit: true, timeout: time.Second})
	assert.Zero(t, res.count429, "no 429 from the server")
	var admitted uint64
	for _, s := range res.summaries {
		assert.Zero(t, s.Failures)
		assert.Zero(t, s.Fallbacks, "Redis answered throughout")
		admitted += s.Admitted
	}
	assert.Equal(t, uint64(procs*perProc), admitted, "calls the throttles let through")
	assert.Equal(t, procs*perProc, res.admitted, "calls the server charged")
	res.audit.check(t)
}

// levelAudit is what auditLevels found: for each minute window, how far
// Redis's level lay outside the server's in each sample (negative: below,
// 0: within the server's two reads).
type levelAudit struct {
	slack   float64 // the bound on a typical distance: the calls in flight, plus one
	dropped int     // samples dropped: the server's two reads were too far apart
	dist    map[string][]float64
}

// check asserts that enough samples were compared and that the median
// distance of each window lies within the slack. The median, not the
// extremes: a process that is descheduled between a response and its
// resync can leave Redis off for a moment by more than the calls in flight,
// and the next response corrects it; a store that charges or forgets
// tokens is off all along.
func (a levelAudit) check(t *testing.T) {
	t.Helper()
	require.NotEmpty(t, a.dist, "no level sample compared (%d dropped)", a.dropped)
	for _, w := range slices.Sorted(maps.Keys(a.dist)) {
		d := slices.Sorted(slices.Values(a.dist[w]))
		med := d[len(d)/2]
		t.Logf("level audit %s: %d samples (%d dropped), Redis's distance from the server's level: median %.1f, from %.1f to %.1f tokens",
			w, len(d), a.dropped, med, d[0], d[len(d)-1])
		assert.GreaterOrEqual(t, len(d), 10, "%s: samples compared", w)
		assert.LessOrEqual(t, math.Abs(med), a.slack, "%s: median distance of Redis's level from the server's", w)
	}
}

// auditLevels compares, every 20 ms until done is closed, the key's minute
// windows in Redis (on Redis's clock) with the server's (read just before
// and just after). Redis may be below the server by the calls charged in
// Redis and not yet at the server, and above it by calls of other processes
// in flight when a response resynced it: inFlight calls, plus one token for
// the resync's rounding. Samples start once the first call was charged,
// and a sample whose two server reads lie more than 5 ms apart (the test
// was descheduled) is dropped, not judged.
func auditLevels(t *testing.T, rs *redisServer, srv *mock.Server, key string, inFlight int, done <-chan struct{}) levelAudit {
	a := levelAudit{slack: float64(inFlight) + 1, dist: map[string][]float64{}}
	store, err := redisstore.New(rs.Client(t), key, fastPolicy(), redisstore.Options{Share: 1})
	if !assert.NoError(t, err) {
		return a
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return a
		case <-tick.C:
		}
		t0 := time.Now()
		before, _ := srv.Levels(key)
		st, err := store.State(t.Context(), 0)
		if err != nil {
			a.dropped++
			continue
		}
		bs := st.Buckets
		after, _ := srv.Levels(key)
		if time.Since(t0) > 5*time.Millisecond {
			a.dropped++
			continue
		}
		if before.RequestsMinute.Tokens == float64(before.RequestsMinute.Limit) {
			continue // no call charged yet
		}
		for _, b := range bs {
			if b.Window != headers.Minute {
				continue
			}
			s1, s2 := before.RequestsMinute.Tokens, after.RequestsMinute.Tokens
			if b.Kind == headers.Complexity {
				s1, s2 = before.ComplexityMinute.Tokens, after.ComplexityMinute.Tokens
			}
			w := b.Kind.String() + "/" + string(b.Window)
			a.dist[w] = append(a.dist[w], b.Level-min(max(b.Level, min(s1, s2)), max(s1, s2)))
		}
	}
}

// import finishes with every note, none twice, and the server's limits kept.
func TestMultiProcessImportSurvivesARedisRestart(t *testing.T) {
	rs := startRedis(t)
	var killedAt time.Time
	start := time.Now()
	res := runImport(t, rs, importRun{procs: 4, perProc: 150, conc: 4, during: func(charged func() int) {
		waitForCalls(t, charged, 150)
		rs.Kill()
		killedAt = time.Now()
		time.Sleep(time.Second)
		rs.Start()
	}})
	t.Logf("Redis was down from %s into the run for about a second", killedAt.Sub(start).Round(time.Millisecond))
	assert.Zero(t, res.count429, "no 429 from the server")
	var fallbacks, returns uint64
	for _, s := range res.summaries {
		assert.Zero(t, s.Failures)
		fallbacks += s.Fallbacks
		returns += s.Returns
	}
	assert.GreaterOrEqual(t, fallbacks, uint64(1), "some process noticed")
	assert.GreaterOrEqual(t, returns, uint64(1), "and returned to Redis (a process may finish before its next probe)")
}

// waitForCalls waits until the server has charged n calls of the import:
// a fault injected after a fixed time could come before the importers,
// slow to start on a loaded machine, had begun, or after they had ended.
func waitForCalls(t *testing.T, charged func() int, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); charged() < n; {
		require.True(t, time.Now().Before(deadline), "the importers charged %d calls in 20 s", charged())
		time.Sleep(10 * time.Millisecond)
	}
}

// chargedCalls counts the calls srv has charged.
func chargedCalls(srv *mock.Server) int {
	n := 0
	for _, e := range srv.Journal() {
		if e.RequestCost > 0 {
			n++
		}
	}
	return n
}

// Redis stops answering (SIGSTOP) in the middle of an import and resumes a
// second later with its state intact: the processes spend their local
// shares meanwhile, then charge Redis with them, and the import finishes
// with every note, none twice, and the server's limits kept.
func TestMultiProcessImportSurvivesAStalledRedis(t *testing.T) {
	needSigStop(t)
	rs := startRedis(t)
	res := runImport(t, rs, importRun{procs: 4, perProc: 150, conc: 4, during: func(charged func() int) {
		waitForCalls(t, charged, 150)
		rs.mu.Lock()
		proc := rs.cmd.Process
		rs.mu.Unlock()
		require.NoError(t, proc.Signal(sigStop))
		time.Sleep(time.Second)
		require.NoError(t, proc.Signal(sigCont))
	}})
	assert.Zero(t, res.count429, "no 429 from the server")
	var fallbacks, returns uint64
	for _, s := range res.summaries {
		assert.Zero(t, s.Failures)
		fallbacks += s.Fallbacks
		returns += s.Returns
	}
	assert.GreaterOrEqual(t, fallbacks, uint64(1), "some process noticed")
	assert.GreaterOrEqual(t, returns, uint64(1), "and returned to Redis")
}
