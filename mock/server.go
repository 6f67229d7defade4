package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/memsdk/mem-go/headers"
)

// Server is the fake Mem API. It is an http.Handler and is safe for
// concurrent use: calls on different keys run in parallel, calls on one key
// are serialised by that key's lock (as one account's writes are ordered).
type Server struct {
	cfg  Config // normalised; Faults live in faults below, Limits in limits
	keys map[string]*keyState

	mu      sync.Mutex // guards the fields below
	limits  Limits     // in force (see SetLimits)
	costs   costTable  // compiled from limits
	faults  Faults
	rng     *rand.Rand
	respRng *rand.Rand // the downlink latency's own stream
	rules   []*rule
	journal journal
	n429    int
	start   time.Time // of the quota periods and the neighbour
	origin  time.Time // of the buckets' clocks: New or the last Reset
}

// New returns a server for cfg, or an error if cfg is invalid (negative or
// overflowing limits, probabilities outside [0, 1], empty keys).
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	costs, err := compileCosts(cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("mock: Limits.Costs: %w", err)
	}
	cfg.Limits.Costs = maps.Clone(cfg.Limits.Costs)
	now := time.Now()
	s := &Server{
		cfg:     cfg,
		limits:  cfg.Limits,
		costs:   costs,
		keys:    make(map[string]*keyState, len(cfg.Keys)),
		faults:  cfg.Faults,
		rng:     newRand(cfg.Seed),
		respRng: newRespRand(cfg.Seed),
		journal: journal{max: cfg.JournalSize},
		start:   now,
		origin:  now,
	}
	for _, k := range cfg.Keys {
		s.keys[k] = newKeyState(k, cfg.Limits, now)
	}
	return s, nil
}

// newRand is the random faults' stream for seed; newRespRand the downlink
// latency's, apart so that enabling it leaves the faults' sequence alone.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func newRespRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x5851f42d4c957f2d, seed^0x14057b7ef767814f))
}

// MustNew is New that panics on an invalid configuration, for tests.
func MustNew(cfg Config) *Server {
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// Reset empties every key's notes and collections, fills its buckets,
// restarts quota periods and the neighbour, clears the journal, the 429 count
// and pending FailNext rules, and reseeds the random faults. Faults and
// limits in force (as set by SetFaults and SetLimits) stay.
func (s *Server) Reset() {
	now := time.Now()
	s.mu.Lock()
	s.rng, s.respRng = newRand(s.cfg.Seed), newRespRand(s.cfg.Seed)
	s.rules = nil
	s.journal = journal{max: s.cfg.JournalSize}
	s.n429 = 0
	s.start, s.origin = now, now
	limits := s.limits
	s.mu.Unlock()
	for _, ks := range s.keys {
		ks.mu.Lock()
		ks.reset(limits, now)
		ks.mu.Unlock()
	}
}

// SetFaults replaces the random faults (and restarts the neighbour's clock).
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = f
	s.start = time.Now()
	s.mu.Unlock()
	return nil
}

// Faults returns the current random faults.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// FailNext makes the next n authenticated calls that match method and path
// fail with f. method "" matches any method; path is a literal path
// ("/v2/notes/6f1c…") or a route pattern as Mem's API reference writes it
// ("/v2/notes/{note_id}"). Rules are consumed in the order they were added;
// one call consumes at most one unit of each matching rule.
func (s *Server) FailNext(method, path string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.rules = append(s.rules, &rule{method: method, path: path, left: n, fault: f})
	s.mu.Unlock()
}

func (s *Server) neighbourConfig() (*Neighbour, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Neighbour, s.start
}

// result is a response before it is written: the handler's output, or a
// decision to drop the connection.
type result struct {
	status int
	header http.Header
	body   []byte

	drop     bool  // write nothing; reset the connection
	dropErr  error // what an in-process client sees when drop is set
	canceled bool  // the client went away (its context is done)
}

// ServeHTTP serves one request. An injected reset or lost response hijacks
// the connection and closes it abruptly where the ResponseWriter allows,
// and otherwise aborts the handler with http.ErrAbortHandler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res := s.serve(r)
	if res.drop || res.canceled {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // send RST, not FIN
				}
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	h := w.Header()
	for k, v := range res.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body)
}

// call is one API call in progress.
type call struct {
	s     *Server
	r     *http.Request
	ks    *keyState
	now   time.Time
	reqID string
	body  []byte
}

// serve runs one request through the pipeline: admin or authentication,
// faults, uplink latency, body, meter and handler, headers, journal,
// downlink latency.
func (s *Server) serve(r *http.Request) *result {
	reqID := "api-request-" + uuid.NewString()
	if r.URL.Path == "/_mock" || strings.HasPrefix(r.URL.Path, "/_mock/") {
		return s.admin(r, reqID) // /_mock/reset too, which restarts the clocks
	}
	if s.clockBehind() {
		return errorResult(reqID, errorf(http.StatusInternalServerError, ErrTypeInternal,
			"mock: the clock reads a time before the server was created or reset (was it created outside the testing/synctest bubble it serves?)"))
	}
	entry := Entry{Method: r.Method, Path: r.URL.Path, RequestID: reqID}
	ks, res := s.authenticate(r, reqID, &entry)
	if res != nil {
		return res
	}
	rt, m, pattern := findRoute(r)
	p, fs := s.decide(r.Method, r.URL.Path, pattern)
	entry.Fault = p.names()
	if res := s.uplink(r, p, &entry); res != nil {
		return res
	}
	body, tooLarge, readErr := readBody(r, s.cfg.MaxBodyBytes) // before the key's lock
	x := &exchange{r: r, reqID: reqID, ks: ks, rt: rt, m: m, p: p, fs: fs, body: body, tooLarge: tooLarge, readErr: readErr}
	v, aerr, status := s.meterAndHandle(x, &entry)
	res = s.respond(x, v, aerr, status)
	s.finish(&entry, res, aerr)
	if !sleepCtx(r.Context().Done(), p.response) {
		return &result{canceled: true}
	}
	if p.lost {
		return &result{drop: true, dropErr: &InjectedError{Fault: FaultLost}}
	}
	return res
}

// clockBehind reports whether the clock reads before the buckets' clocks
// started (New or Reset). A real clock never goes back; a testing/synctest
// bubble's starts in 2000, so a server created outside the bubble it
// serves would meter every call at a time before its buckets' last update,
// and never refill them.
func (s *Server) clockBehind() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Before(s.origin) // read under the lock: a Reset meanwhile moves origin
}

// exchange is what serve has gathered about one API request before the
// meter and the handler see it.
type exchange struct {
	r        *http.Request
	reqID    string
	ks       *keyState
	rt       *route // nil: no route has r's method and path
	m        routeMatch
	p        plan
	fs       faultSettings
	body     []byte
	tooLarge bool
	readErr  error
	now      time.Time // set when the key's lock is taken
}

// authenticate returns the state of r's API key, or the 401 to answer
// (journaled) when r carries none that the server knows.
func (s *Server) authenticate(r *http.Request, reqID string, entry *Entry) (*keyState, *result) {
	key, ok := bearer(r)
	ks := s.keys[key]
	if !ok || ks == nil {
		entry.Time = time.Now()
		res := errorResult(reqID, errorf(http.StatusUnauthorized, ErrTypeUnauthorized,
			"missing or unknown API key (send Authorization: Bearer KEY)"))
		res.header.Set("Www-Authenticate", `Bearer realm="mem"`)
		entry.Status, entry.Error = res.status, ErrTypeUnauthorized
		s.record(*entry)
		return nil, res
	}
	entry.Key = Key(key)
	return ks, nil
}

// uplink waits out the request's latency, and returns what to answer
// instead of serving it (journaled): nothing when the client went away, a
// reset when one is injected; nil to go on.
func (s *Server) uplink(r *http.Request, p plan, entry *Entry) *result {
	if !sleepCtx(r.Context().Done(), p.latency) {
		entry.Time = time.Now()
		s.record(*entry)
		return &result{canceled: true}
	}
	if p.reset {
		entry.Time = time.Now()
		s.record(*entry)
		return &result{drop: true, dropErr: &InjectedError{Fault: FaultReset}}
	}
	return nil
}

// meterAndHandle charges x's price to its key and runs its handler, under
// the key's lock, and returns the handler's value or the error to answer,
// and the key's rate-limit status after it. It sets entry's time and, for
// a charged call, its costs.
func (s *Server) meterAndHandle(x *exchange, entry *Entry) (any, *apiError, headers.Status) {
	costs := s.pricing()
	price, extra := costs.price(x.r, x.rt, x.m.index)
	rc, cc := price.Requests, price.Complexity
	x.now = time.Now()
	entry.Time = x.now
	x.ks.mu.Lock()
	defer x.ks.mu.Unlock()
	x.ks.neighbour(x.fs.neighbour, x.fs.start, x.now)
	var admitted bool
	var ref refusal
	if x.p.rateLimit {
		ref = refusal{kind: headers.Requests, b: x.ks.meter.req[0], cost: rc, wait: time.Second}
	} else {
		admitted, ref = x.ks.meter.charge(x.now, rc, cc)
	}
	if admitted {
		entry.RequestCost, entry.ComplexityCost = rc, cc
	}
	var v any
	aerr := s.refusal(x, admitted, ref, extra)
	switch {
	case aerr != nil:
	case extra:
		v = struct{}{} // an endpoint Mem has added (see Limits.Costs)
	default:
		c := &call{s: s, r: x.m.req, ks: x.ks, now: x.now, reqID: x.reqID, body: x.body}
		v, aerr = x.rt.h(c)
	}
	return v, aerr, x.ks.meter.status(x.now)
}

// refusal returns the error that answers x without its handler, in order
// of precedence (nil: none): the rate limit, the body, the route, an
// injected server error. extra marks an endpoint known only by its price.
func (s *Server) refusal(x *exchange, admitted bool, ref refusal, extra bool) *apiError {
	switch {
	case !admitted:
		return rateLimitError(ref)
	case x.tooLarge:
		return errorf(http.StatusRequestEntityTooLarge, ErrTypePayloadTooLarge,
			"request body exceeds %d bytes", s.cfg.MaxBodyBytes).with("max_bytes", s.cfg.MaxBodyBytes)
	case x.readErr != nil:
		return badRequest("could not read the request body")
	case x.rt == nil && !extra && x.m.allow == "":
		return errorf(http.StatusNotFound, ErrTypeNotFound, "no such endpoint: %s %s", x.r.Method, x.r.URL.Path)
	case x.rt == nil && !extra:
		return methodNotAllowed(x.r)
	case x.p.serverError != 0:
		return errorf(x.p.serverError, ErrTypeInternal, "internal error (injected)")
	}
	return nil
}

// respond renders the answer with its headers: the rate-limit status, then
// the header faults the plan injects.
func (s *Server) respond(x *exchange, v any, aerr *apiError, status headers.Status) *result {
	res := render(x.reqID, v, aerr, x.now, x.fs.retryAfterDate)
	if aerr != nil && aerr.status == http.StatusMethodNotAllowed {
		res.header.Set("Allow", x.m.allow)
	}
	status.Write(res.header)
	if x.p.missingHeaders {
		dropRateHeaders(res.header)
	}
	if x.p.garbledHeaders {
		garble(res.header)
	}
	return res
}

// finish journals the answered request and counts a 429.
func (s *Server) finish(entry *Entry, res *result, aerr *apiError) {
	entry.Status = res.status
	if aerr != nil {
		entry.Error = aerr.typ
	}
	s.mu.Lock()
	if res.status == http.StatusTooManyRequests {
		s.n429++
	}
	s.mu.Unlock()
	s.record(*entry)
}

// findRoute finds r's route (nil for none) and the pattern that FailNext rules
// match: the route's, or for a wrong method that of the first route with
// r's path ("" for an unknown path).
func findRoute(r *http.Request) (*route, routeMatch, string) {
	m := apiRouter.match(r)
	if m.index >= 0 {
		return &routes[m.index], m, routes[m.index].pattern
	}
	if m.allow != "" {
		if i := apiRouter.firstWithPath(r, m.allow); i >= 0 {
			return nil, m, routes[i].pattern
		}
	}
	return nil, m, ""
}

// methodNotAllowed is the 405 for a known path called with a method none of
// its routes take.
func methodNotAllowed(r *http.Request) *apiError {
	return errorf(http.StatusMethodNotAllowed, ErrTypeMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
}

// faultSettings are the parts of the faults a call reads after deciding.
type faultSettings struct {
	retryAfterDate bool
	neighbour      *Neighbour
	start          time.Time
}

// decide draws the call's random faults and applies (consuming) the FailNext
// rules that match it.
func (s *Server) decide(method, path, pattern string) (plan, faultSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := drawPlan(s.rng, s.respRng, &s.faults)
	for _, ru := range s.rules {
		if ru.left > 0 && ru.matches(method, path, pattern) {
			ru.left--
			p.apply(ru.fault)
		}
	}
	s.rules = slices.DeleteFunc(s.rules, func(ru *rule) bool { return ru.left <= 0 })
	return p, faultSettings{retryAfterDate: s.faults.RetryAfterDate, neighbour: s.faults.Neighbour, start: s.start}
}

// render encodes a handler's outcome; a 429 gets Retry-After (and, for the
// quota, Cache-Control).
func render(reqID string, v any, aerr *apiError, now time.Time, retryAfterDate bool) *result {
	if aerr == nil {
		return jsonResult(http.StatusOK, reqID, v)
	}
	res := errorResult(reqID, aerr)
	if aerr.status != http.StatusTooManyRequests {
		return res
	}
	wait := time.Duration(0)
	if ra, ok := aerr.details["retry_after_seconds"].(int64); ok {
		wait = time.Duration(ra) * time.Second
	}
	if retryAfterDate {
		headers.SetRetryAfterDate(res.header, now, wait)
	} else {
		headers.SetRetryAfter(res.header, wait)
	}
	if aerr.typ == ErrTypeQuotaExceeded {
		res.header.Set("Cache-Control", "private, no-store")
	}
	return res
}

// record journals e and passes it to Config.Observe.
func (s *Server) record(e Entry) {
	s.mu.Lock()
	s.journal.add(e)
	s.mu.Unlock()
	if s.cfg.Observe != nil {
		s.cfg.Observe(e)
	}
}

// bearer extracts the key of "Authorization: Bearer KEY".
func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(a, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}

// readBody reads at most limit bytes of the body. tooLarge is set when the
// body (or its declared length) exceeds limit; nothing more is read then.
func readBody(r *http.Request, limit int64) (body []byte, tooLarge bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	if r.ContentLength > limit {
		return nil, true, nil
	}
	body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, true, nil
	}
	return body, false, err
}

// rateLimitError is the 429 for a refused call; details name the bucket.
func rateLimitError(r refusal) *apiError {
	secs := int64((r.wait + time.Second - 1) / time.Second)
	secs = max(secs, 1)
	msg := "rate limit exceeded: " + r.kind.String() + " per " + string(r.b.window)
	if r.never {
		msg += " (the call costs more than the bucket holds)"
	}
	return errorf(http.StatusTooManyRequests, ErrTypeRateLimitExceeded, "%s", msg).
		with("limit_type", r.kind.String()).
		with("window", string(r.b.window)).
		with("limit", r.b.limit).
		with("remaining", r.b.tokens()).
		with("cost", r.cost).
		with("retry_after_seconds", secs)
}

func errorResult(reqID string, e *apiError) *result {
	env := envelope{
		Error:     envelopeBody{Type: e.typ, Message: e.message, Details: e.details},
		RequestID: reqID,
	}
	if e.typ == ErrTypeQuotaExceeded {
		env.Error.UpgradeInfo = &upgradeInfo{
			Message:    "Upgrade your plan to create more notes.",
			UpgradeURL: "https://mem.ai/pricing",
		}
	}
	return jsonResult(e.status, reqID, env)
}

func jsonResult(status int, reqID string, v any) *result {
	b, err := json.Marshal(v)
	if err != nil { // a bug: every response type is marshalable
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"type":"internal_error","message":"could not encode the response","details":{}}}`)
	}
	h := make(http.Header, 12)
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", reqID)
	return &result{status: status, header: h, body: b}
}
