package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// baseURL is where the contenders send; the mock's RoundTripper ignores the
// host.
const baseURL = "http://mock.invalid"

// Costs of the two kinds of call, from the published limits.
var (
	costMemIt = throttle.Cost{Requests: 1, Complexity: throttle.MemItComplexity}
	costOne   = throttle.Cost{Requests: 1, Complexity: 1}
)

// taskKind is one unit of work a goroutine takes from the queue.
type taskKind int

const (
	taskMemIt  taskKind = iota // POST /v2/mem-it
	taskCreate                 // POST /v2/notes
	taskChain                  // create, get, update, list: two writes and two reads, in order
)

type task struct {
	kind    taskKind
	id      string // note id (create, chain)
	content string // mem-it input, or note content
	updated string // chain: the content the update writes
}

// workload is one of W1–W6.
type workload struct {
	name       string
	desc       string
	goroutines int
	tasks      []task
	// drain is how many cost-1 calls another process spent on the key
	// just before the run (W5).
	drain int
	// neighbour spends on the key during the run (W4).
	neighbour *mock.Neighbour
}

// sizes are the workloads' sizes.
type sizes struct {
	w1MemIt, w2Creates, w3MemIt, w3Chains, w6MemIt int
}

// fullSizes are the sizes the report runs (in virtual time, all of them
// together take about a second of real time, ten under -race).
var fullSizes = sizes{w1MemIt: 50, w2Creates: 1000, w3MemIt: 20, w3Chains: 150, w6MemIt: 600}

// neighbour30 spends 30% of both minute budgets of the key: one call every 2 s
// costing 1 request token (30 of 100 a minute) and 2 complexity tokens (60 of
// 200 a minute).
var neighbour30 = &mock.Neighbour{Interval: 2 * time.Second, Requests: 1, Complexity: 2}

// drainW5 is how many cost-1 calls leave the key near empty for W5: 5 of the
// 100 request tokens a minute left (105 of the 200 complexity tokens).
const drainW5 = 95

func memIts(prefix string, n int) []task {
	ts := make([]task, n)
	for i := range ts {
		ts[i] = task{kind: taskMemIt, content: fmt.Sprintf("%s mem-it %d\ncaptured text", prefix, i)}
	}
	return ts
}

func creates(prefix string, n int) []task {
	ts := make([]task, n)
	for i := range ts {
		ts[i] = task{kind: taskCreate, id: uuid.NewString(), content: fmt.Sprintf("%s note %d\nbody", prefix, i)}
	}
	return ts
}

// mixed interleaves m mem-it calls evenly among c chains.
func mixed(prefix string, m, c int) []task {
	ts := make([]task, 0, m+c)
	mi := memIts(prefix, m)
	for i := range c {
		for len(mi) > 0 && len(ts)*m >= (m-len(mi))*(m+c) {
			ts = append(ts, mi[0])
			mi = mi[1:]
		}
		ts = append(ts, task{kind: taskChain, id: uuid.NewString(),
			content: fmt.Sprintf("%s chain %d\nfirst", prefix, i), updated: fmt.Sprintf("%s chain %d\nsecond", prefix, i)})
	}
	return append(ts, mi...)
}

// memItFirst moves the mem-it tasks to the front, keeping the order otherwise.
func memItFirst(ts []task) []task {
	out := make([]task, 0, len(ts))
	for _, t := range ts {
		if t.kind == taskMemIt {
			out = append(out, t)
		}
	}
	for _, t := range ts {
		if t.kind != taskMemIt {
			out = append(out, t)
		}
	}
	return out
}

func workloads(s sizes) []workload {
	return []workload{
		{name: "W1", desc: fmt.Sprintf("%d mem-it, 1 goroutine", s.w1MemIt), goroutines: 1, tasks: memIts("W1", s.w1MemIt)},
		{name: "W2", desc: fmt.Sprintf("%d note creates, 16 goroutines", s.w2Creates), goroutines: 16, tasks: creates("W2", s.w2Creates)},
		{name: "W3", desc: fmt.Sprintf("%d mem-it + %d mixed reads/writes, 32 goroutines", s.w3MemIt, 4*s.w3Chains), goroutines: 32, tasks: mixed("W3", s.w3MemIt, s.w3Chains)},
		{name: "W3b", desc: fmt.Sprintf("W3 (%d mem-it + %d) with the mem-it calls queued first, not spread", s.w3MemIt, 4*s.w3Chains),
			goroutines: 32, tasks: memItFirst(mixed("W3b", s.w3MemIt, s.w3Chains))},
		{name: "W4", desc: "W3 + noisy neighbour spending 30% of the key's budget", goroutines: 32, tasks: mixed("W4", s.w3MemIt, s.w3Chains), neighbour: neighbour30},
		{name: "W5", desc: fmt.Sprintf("W2 on a key drained to %d/100 requests (cold start)", 100-drainW5), goroutines: 16, tasks: creates("W5", s.w2Creates), drain: drainW5},
		{name: "W6", desc: fmt.Sprintf("%d mem-it import over days (day windows), 4 goroutines", s.w6MemIt), goroutines: 4, tasks: memIts("W6", s.w6MemIt)},
	}
}

// plan is what a set of tasks costs, as Policy.Optimum takes it.
type plan struct{ memIt, one int }

func (w workload) plan() plan {
	var p plan
	for _, t := range w.tasks {
		switch t.kind {
		case taskMemIt:
			p.memIt++
		case taskCreate:
			p.one++
		case taskChain:
			p.one += 4
		}
	}
	return p
}

// api is what a contender does for the tasks: one method per endpoint.
type api interface {
	memIt(ctx context.Context, input string) error
	create(ctx context.Context, id, content string) (version int64, err error)
	get(ctx context.Context, id string) error
	update(ctx context.Context, id, content string, version int64) error
	list(ctx context.Context) error
}

// contender builds its api for one run, inside the run's bubble.
type contender struct {
	name string
	new  func(srv *mock.Server) api
}

var contenders = []contender{
	{"SDK (memclient + throttle)", newSDK},
	{"go-retryablehttp (default policy)", newRetryable},
	{"go-retryablehttp + rate.Limiter (100 a minute, burst 100)", newRetryableLimited},
	{"x/time/rate (4 limiters)", newRateLimited},
}

// result is one row.
type result struct {
	workload  string
	contender string
	elapsed   time.Duration // virtual time until the last task ended
	optimum   time.Duration // for the calls that succeeded
	n429      int           // 429 responses the key received
	wasted    int           // requests sent and not served (any non-2xx, or the response lost)
	calls     int
	failed    int // calls that returned an error
	unknown   int // of which mem-it calls reported as OutcomeUnknownError
	lost      int // items not stored as acknowledged (or not at all)
	lostSeen  int // of which the caller was told (the call failed)
	dup       int // items stored more than once
	throttle  *throttle.Stats
	errs      map[string]int
	route429  map[string]int // 429s by route
	paused    time.Duration  // SDK: time every caller was paused by 429s
	nbShare   [2]float64     // W4: share of each minute bucket's refill the neighbour took
	// chargedOptimum is the optimum of every call the server charged
	// (retries of 5xx and lost responses, 409s and reads that resolve them
	// included): against it, the efficiency of the throttle alone.
	chargedOptimum time.Duration
	real           time.Duration // wall-clock time of the run
	// resolved counts, for the SDK with resolve set, the OutcomeUnknownErrors
	// met, those whose content was found stored, and those sent again.
	resolved [3]int64
}

func (r result) efficiency() float64 {
	if r.elapsed <= 0 {
		return 1
	}
	return float64(r.optimum) / float64(r.elapsed)
}

// outcome records what each task's calls returned.
type outcome struct {
	mu        sync.Mutex
	okMemIt   int
	okOne     int
	calls     int
	failed    int
	unknown   int
	failedIDs map[string]bool // items whose write failed (told to the caller)
	errs      map[string]int  // error messages, for the log
	acked     map[string]string
}

func (o *outcome) record(c throttle.Cost, err error) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if err != nil {
		o.failed++
		o.errs[err.Error()]++
		var ou *memclient.OutcomeUnknownError
		if errors.As(err, &ou) {
			o.unknown++
		}
		return false
	}
	if c == costMemIt {
		o.okMemIt++
	} else {
		o.okOne++
	}
	return true
}

// run replays w with the api that mk builds, under faults f, in a synctest
// bubble of its own, and checks what the mock stored afterwards.
func run(t *testing.T, w workload, name string, mk func(*mock.Server) api, f mock.Faults, prep func(*mock.Server)) result {
	res := result{workload: w.name, contender: name, route429: map[string]int{}}
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Seed: 1, JournalSize: 1 << 20})
		drain(t, srv, w.drain)
		f.Neighbour = w.neighbour
		if err := srv.SetFaults(f); err != nil { // also starts the neighbour's clock now
			t.Fatal(err)
		}
		if prep != nil {
			prep(srv)
		}
		a := mk(srv)
		o := &outcome{failedIDs: map[string]bool{}, acked: map[string]string{}, errs: map[string]int{}}
		ctx := context.Background()
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range w.goroutines {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(w.tasks) {
						return
					}
					do(ctx, a, w.tasks[i], o)
				}
			})
		}
		wg.Wait()
		res.elapsed = time.Since(start)
		done := plan{memIt: o.okMemIt, one: o.okOne}
		res.optimum = w.optimum(done)
		var charged [2]int64 // requests, complexity, by this client
		var spent plan       // the calls the server charged
		res.calls, res.failed, res.unknown, res.errs = o.calls, o.failed, o.unknown, o.errs
		for i, e := range srv.Journal() {
			if i < w.drain {
				continue // the other process's calls
			}
			if e.Status == http.StatusTooManyRequests {
				res.n429++
				route := e.Method + " " + e.Path
				if strings.HasPrefix(e.Path, "/v2/notes/") {
					route = e.Method + " /v2/notes/{id}"
				}
				res.route429[route]++
			}
			if e.Status < 200 || e.Status > 299 || strings.Contains(e.Fault, "lost") {
				res.wasted++
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
		res.chargedOptimum = w.optimum(spent)
		if w.neighbour != nil {
			lv, _ := srv.Levels(mock.DefaultKey)
			res.optimum, res.nbShare = neighbourOptimum(done, res.elapsed, charged,
				[2]mock.BucketLevel{lv.RequestsMinute, lv.ComplexityMinute})
		}
		res.lost, res.lostSeen, res.dup = audit(srv, w.tasks, o)
		if s, ok := a.(*sdk); ok {
			st := s.c.Throttle().Snapshot().Stats
			res.throttle = &st
			res.paused = s.pauses.total()
			res.resolved = [3]int64{s.unknowns.Load(), s.found.Load(), s.resent.Load()}
		}
	})
	res.real = time.Since(realStart)
	return res
}

// drain spends n cost-1 calls on the key at once, as another process would.
func drain(t *testing.T, srv *mock.Server, n int) {
	c := srv.Client()
	for range n {
		req, _ := http.NewRequest(http.MethodGet, baseURL+"/v2/notes?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+mock.DefaultKey)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("drain: status %d", resp.StatusCode)
		}
	}
}

func do(ctx context.Context, a api, t task, o *outcome) {
	switch t.kind {
	case taskMemIt:
		if !o.record(costMemIt, a.memIt(ctx, t.content)) {
			o.fail(t.content)
		}
	case taskCreate:
		_, err := a.create(ctx, t.id, t.content)
		if o.record(costOne, err) {
			o.ack(t.id, t.content)
		} else {
			o.fail(t.id)
		}
	case taskChain:
		v, err := a.create(ctx, t.id, t.content)
		if o.record(costOne, err) {
			o.ack(t.id, t.content)
		} else {
			o.fail(t.id)
		}
		o.record(costOne, a.get(ctx, t.id))
		err = a.update(ctx, t.id, t.updated, v)
		if o.record(costOne, err) {
			o.ack(t.id, t.updated)
		} else {
			o.fail(t.id)
		}
		o.record(costOne, a.list(ctx))
	}
}

func (o *outcome) ack(id, content string) {
	o.mu.Lock()
	o.acked[id] = content
	o.mu.Unlock()
}

func (o *outcome) fail(id string) {
	o.mu.Lock()
	o.failedIDs[id] = true
	o.mu.Unlock()
}

// audit compares what the mock stored with the tasks: an item is lost when
// no note holds it (or, for a note with an id, when the note does not hold
// the last content acknowledged to the caller), and duplicated when more than
// one note holds it.
func audit(srv *mock.Server, tasks []task, o *outcome) (lost, lostSeen, dup int) {
	byContent := map[string]int{}
	byID := map[string]mock.Note{}
	for _, n := range srv.Notes(mock.DefaultKey) {
		byContent[n.Content]++
		byID[n.ID] = n
	}
	for _, t := range tasks {
		switch t.kind {
		case taskMemIt:
			switch n := byContent[t.content]; {
			case n == 0:
				lost++
				if o.failedIDs[t.content] {
					lostSeen++
				}
			case n > 1:
				dup += n - 1
			}
		default:
			n := byContent[t.content] + byContent[t.updated]
			if t.updated == "" {
				n = byContent[t.content]
			}
			note, stored := byID[t.id]
			want, acked := o.acked[t.id]
			switch {
			case n > 1:
				dup += n - 1
			case !stored || (acked && note.Content != want):
				lost++
				if o.failedIDs[t.id] {
					lostSeen++
				}
			}
		}
	}
	return lost, lostSeen, dup
}

// --- contender 1: the SDK -------------------------------------------------

type sdk struct {
	c      *memclient.Client
	pauses *pauses
	// resolve makes memIt follow OutcomeUnknownError's advice, as an
	// application would: check the notes for the content, and send it
	// again only if it is not there.
	resolve  bool
	unknowns atomic.Int64 // OutcomeUnknownErrors met
	found    atomic.Int64 // of which the content was found stored
	resent   atomic.Int64 // of which it was not, so it was sent again
}

// newSDK is memclient with its defaults; its throttle (the default policy,
// as the client would build) is made here only to observe its pauses.
func newSDK(srv *mock.Server) api {
	p := &pauses{}
	th, err := throttle.New(throttle.DefaultPolicy(), throttle.WithHooks(throttle.Hooks{OnPause: p.add}))
	if err != nil {
		panic(err)
	}
	c, err := memclient.New(memclient.WithAPIKey(mock.DefaultKey), memclient.WithTransport(srv.RoundTripper()),
		memclient.WithBaseURL(baseURL), memclient.WithThrottle(th))
	if err != nil {
		panic(err)
	}
	return &sdk{c: c, pauses: p}
}

// newSDKResolving is newSDK with the documented recovery of mem-it calls
// whose outcome is unknown (see sdk.resolve).
func newSDKResolving(srv *mock.Server) api {
	s := newSDK(srv).(*sdk)
	s.resolve = true
	return s
}

// pauses sums the time covered by the throttle's 429 pauses (their union).
type pauses struct {
	mu    sync.Mutex
	until time.Time
	sum   time.Duration
}

func (p *pauses) add(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := time.Now()
	if p.until.After(from) {
		from = p.until
	}
	if until.After(from) {
		p.sum += until.Sub(from)
		p.until = until
	}
}

func (p *pauses) total() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sum
}

func (s *sdk) memIt(ctx context.Context, input string) error {
	start := time.Now()
	_, _, err := s.c.MemIt(ctx, &memclient.MemItRequest{Input: input})
	var ou *memclient.OutcomeUnknownError
	for range 3 {
		if !s.resolve || !errors.As(err, &ou) {
			return err
		}
		s.unknowns.Add(1)
		stored, lerr := s.stored(ctx, input, start)
		if lerr != nil {
			return errors.Join(err, lerr)
		}
		if stored {
			s.found.Add(1)
			return nil
		}
		s.resent.Add(1)
		_, _, err = s.c.MemIt(ctx, &memclient.MemItRequest{Input: input})
	}
	return err
}

// stored reports whether a note created since a little before start holds
// content: one List call, newest first, with content.
func (s *sdk) stored(ctx context.Context, content string, start time.Time) (bool, error) {
	opts := &memclient.ListNotesOptions{Limit: memclient.MaxListLimit, OrderBy: memclient.OrderByCreatedAt,
		CreatedAfter: start.Add(-time.Second), IncludeContent: true}
	for n, err := range s.c.Notes.All(ctx, opts) {
		if err != nil {
			return false, err
		}
		if n.Content != nil && *n.Content == content {
			return true, nil
		}
	}
	return false, nil
}

func (s *sdk) create(ctx context.Context, id, content string) (int64, error) {
	n, _, err := s.c.Notes.Create(ctx, &memclient.CreateNoteRequest{ID: id, Content: content})
	if err != nil {
		return 0, err
	}
	return n.Version, nil
}

func (s *sdk) get(ctx context.Context, id string) error {
	_, _, err := s.c.Notes.Get(ctx, id)
	return err
}

func (s *sdk) update(ctx context.Context, id, content string, version int64) error {
	_, _, err := s.c.Notes.Update(ctx, id, &memclient.UpdateNoteRequest{Content: content, Version: version})
	return err
}

func (s *sdk) list(ctx context.Context) error {
	_, _, err := s.c.Notes.List(ctx, &memclient.ListNotesOptions{Limit: 10})
	return err
}

// --- raw HTTP, shared by contenders 2 and 3 --------------------------------

// sender sends one request and returns the status and body, or an error.
type sender func(ctx context.Context, method, path string, body []byte) (int, []byte, error)

type raw struct{ send sender }

func (r raw) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	status, rb, err := r.send(ctx, method, path, b)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("%s %s: status %d", method, path, status)
	}
	return rb, nil
}

func (r raw) memIt(ctx context.Context, input string) error {
	_, err := r.call(ctx, http.MethodPost, "/v2/mem-it", map[string]string{"input": input})
	return err
}

func (r raw) create(ctx context.Context, id, content string) (int64, error) {
	b, err := r.call(ctx, http.MethodPost, "/v2/notes", map[string]string{"id": id, "content": content})
	if err != nil {
		return 0, err
	}
	var n struct {
		Version int64 `json:"version"`
	}
	err = json.Unmarshal(b, &n)
	return n.Version, err
}

func (r raw) get(ctx context.Context, id string) error {
	_, err := r.call(ctx, http.MethodGet, "/v2/notes/"+id, nil)
	return err
}

func (r raw) update(ctx context.Context, id, content string, version int64) error {
	_, err := r.call(ctx, http.MethodPatch, "/v2/notes/"+id, map[string]any{"content": content, "version": version})
	return err
}

func (r raw) list(ctx context.Context) error {
	_, err := r.call(ctx, http.MethodGet, "/v2/notes?limit=10", nil)
	return err
}

func newRequest(ctx context.Context, method, path string, body []byte) *http.Request {
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+mock.DefaultKey)
	req.Header.Set("Content-Type", "application/json")
	return req
}

func readAll(resp *http.Response) (int, []byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// --- contender 2: go-retryablehttp alone ------------------------------------

// newRetryable is go-retryablehttp with its defaults (RetryMax 4, waits of
// 1–30 s, Retry-After honoured on 429 and 503), over the mock's transport.
func newRetryable(srv *mock.Server) api {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: srv.RoundTripper()}
	rc.Logger = nil
	return raw{func(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
		req, err := retryablehttp.FromRequest(newRequest(ctx, method, path, body))
		if err != nil {
			return 0, nil, err
		}
		resp, err := rc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		return readAll(resp)
	}}
}

// --- contender 3: go-retryablehttp behind a rate.Limiter --------------------

// newRetryableLimited is the fix users commonly write by hand: one
// rate.Limiter at the documented minute rate of requests (100 a minute,
// with the documented burst of a full bucket, 100), waited on once per call,
// in front of go-retryablehttp with its defaults (which retries 429s after
// Retry-After). It knows nothing of complexity tokens or the day windows.
func newRetryableLimited(srv *mock.Server) api {
	lim := rate.NewLimiter(rate.Limit(throttle.RequestsPerMinute/60.0), throttle.RequestsPerMinute)
	inner := newRetryable(srv).(raw)
	return raw{func(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
		if err := lim.Wait(ctx); err != nil {
			return 0, nil, err
		}
		return inner.send(ctx, method, path, body)
	}}
}

// --- contender 4: x/time/rate ----------------------------------------------

// newRateLimited is what a careful user writes with golang.org/x/time/rate:
// one limiter per bucket at the published rate and burst, WaitN on each in
// turn for the call's cost, no resync from the headers, and on a 429 a sleep
// for Retry-After (seconds or HTTP-date) and another try, up to 10 attempts.
func newRateLimited(srv *mock.Server) api {
	type lim struct {
		l          *rate.Limiter
		complexity bool
	}
	lims := []lim{
		{rate.NewLimiter(rate.Limit(throttle.RequestsPerMinute/60.0), throttle.RequestsPerMinute), false},
		{rate.NewLimiter(rate.Limit(throttle.RequestsPerDay/86400.0), throttle.RequestsPerDay), false},
		{rate.NewLimiter(rate.Limit(throttle.ComplexityPerMinute/60.0), throttle.ComplexityPerMinute), true},
		{rate.NewLimiter(rate.Limit(throttle.ComplexityPerDay/86400.0), throttle.ComplexityPerDay), true},
	}
	hc := &http.Client{Transport: srv.RoundTripper()}
	return raw{func(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
		cost := costOne
		if method == http.MethodPost && path == "/v2/mem-it" {
			cost = costMemIt
		}
		wait := func(ctx context.Context) error {
			for _, l := range lims {
				n := cost.Requests
				if l.complexity {
					n = cost.Complexity
				}
				if err := l.l.WaitN(ctx, int(n)); err != nil {
					return err
				}
			}
			return nil
		}
		return sendRetrying429(ctx, hc, wait, method, path, body)
	}}
}

// sendRetrying429 is a limiter user's call: wait for the limiters, send,
// and on a 429 sleep for Retry-After (seconds or HTTP-date) and try again,
// up to 10 attempts.
func sendRetrying429(ctx context.Context, hc *http.Client, wait func(context.Context) error, method, path string, body []byte) (int, []byte, error) {
	for attempt := 1; ; attempt++ {
		if err := wait(ctx); err != nil {
			return 0, nil, err
		}
		resp, err := hc.Do(newRequest(ctx, method, path, body))
		if err != nil {
			return 0, nil, err
		}
		status, b, err := readAll(resp)
		if status != http.StatusTooManyRequests || attempt == 10 {
			return status, b, err
		}
		time.Sleep(retryAfter(resp.Header.Get("Retry-After")))
	}
}

// retryAfter reads a Retry-After value as a user would: seconds, else an
// HTTP-date, else one second.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return time.Second
}
