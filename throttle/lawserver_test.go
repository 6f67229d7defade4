package throttle

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// lawServer is a minimal in-memory Mem that enforces the leaky-bucket law
// exactly, written independently of the throttle's own math (floats here,
// scaled integers there) so that a bug in one is not hidden by the other.
// It serves every request with 200 and "{}", or 429 when a bucket is short.
type lawServer struct {
	mu       sync.Mutex
	buckets  []lawBucket
	uplink   time.Duration // time between send and arrival (charged)
	latency  time.Duration // time between arrival (charged) and response
	log      []lawEntry    // every request, in arrival order
	inflight int           // requests being handled now
	// maxInflightUnsynced is the most requests handled at once before the
	// first response was written: the cold-start probe's test.
	maxInflightUnsynced int
	maxInflight         int // the most requests handled at once
	responded           bool

	// Faults, set by tests.
	failNext       int    // refuse the next n requests with a connection error, uncharged
	reject429Next  int    // answer the next n with a rate 429 (Retry-After below), uncharged
	retryAfter     string // Retry-After of those 429s
	quotaNext      int    // answer the next n with a quota 429, uncharged
	garbleHeaders  bool   // send malformed rate headers
	withoutHeaders bool   // send no rate headers

	// prices overrides MemCost for some routes ("METHOD /path"): the
	// server changed its price list.
	prices map[string]Cost

	// neighbour is another consumer on the key, spending this many tokens
	// of each kind per second, steadily (as far as the buckets hold them).
	neighbour [2]float64
}

type lawBucket struct {
	Bucket
	level float64
	at    time.Time
}

type lawEntry struct {
	At     time.Time
	Cost   Cost
	Status int
}

// tolerance absorbs float rounding: the throttle admits at the exact
// nanosecond, where float math may see 39.9999999 tokens.
const tolerance = 1e-6

func newLawServer(p Policy) *lawServer {
	s := &lawServer{}
	now := time.Now()
	for _, b := range p.Buckets {
		s.buckets = append(s.buckets, lawBucket{Bucket: b, level: float64(b.Limit), at: now})
	}
	return s
}

func (s *lawServer) refill(now time.Time) {
	for i := range s.buckets {
		b := &s.buckets[i]
		dt := now.Sub(b.at).Seconds()
		b.level = min(float64(b.Limit), b.level+dt*float64(b.Limit)/b.Period.Seconds())
		b.level -= min(dt*s.neighbour[b.Kind], max(0, b.level))
		b.at = now
	}
}

// spend charges n tokens of kind k outside any request: another process
// using the same key.
func (s *lawServer) spend(k headers.Kind, n float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refill(time.Now())
	for i := range s.buckets {
		if b := &s.buckets[i]; b.Kind == k {
			b.level -= min(n, max(0, b.level)) // nobody spends what is not there
		}
	}
}

func (s *lawServer) entries() []lawEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]lawEntry(nil), s.log...)
}

func (s *lawServer) count(status int) int {
	n := 0
	for _, e := range s.entries() {
		if e.Status == status {
			n++
		}
	}
	return n
}

func (s *lawServer) RoundTrip(req *http.Request) (*http.Response, error) {
	c := MemCost(req.Method, req.URL.Path)
	s.mu.Lock()
	if p, ok := s.prices[req.Method+" "+req.URL.Path]; ok {
		c = p
	}
	uplink := s.uplink
	s.mu.Unlock()
	if uplink > 0 {
		time.Sleep(uplink)
	}
	s.mu.Lock()
	now := time.Now()
	if s.failNext > 0 {
		s.failNext--
		s.mu.Unlock()
		return nil, io.ErrUnexpectedEOF
	}
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	if !s.responded {
		s.maxInflightUnsynced = max(s.maxInflightUnsynced, s.inflight)
	}
	s.refill(now)
	status := http.StatusOK
	body := "{}"
	h := http.Header{}
	switch {
	case s.quotaNext > 0:
		s.quotaNext--
		status = http.StatusTooManyRequests
		body = `{"error":{"type":"quota_exceeded","message":"monthly quota reached","details":{}}}`
		h.Set("Retry-After", "86400")
	case s.reject429Next > 0 || !s.fits(c):
		if s.reject429Next > 0 {
			s.reject429Next--
			h.Set("Retry-After", s.retryAfter)
		} else {
			headers.SetRetryAfter(h, s.wait(c))
		}
		status = http.StatusTooManyRequests
		body = `{"error":{"type":"rate_limit_exceeded","message":"slow down","details":{}}}`
	default:
		for i := range s.buckets {
			s.buckets[i].level -= float64(c.Of(s.buckets[i].Kind))
		}
	}
	s.log = append(s.log, lawEntry{At: now, Cost: c, Status: status})
	s.writeHeaders(h)
	latency := s.latency
	s.mu.Unlock()

	if latency > 0 {
		time.Sleep(latency)
	}
	s.mu.Lock()
	s.inflight--
	s.responded = true
	s.mu.Unlock()
	return &http.Response{
		StatusCode: status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}, nil
}

func (s *lawServer) fits(c Cost) bool {
	for _, b := range s.buckets {
		if b.level+tolerance < float64(c.Of(b.Kind)) {
			return false
		}
	}
	return true
}

func (s *lawServer) wait(c Cost) time.Duration {
	var w time.Duration
	for _, b := range s.buckets {
		if short := float64(c.Of(b.Kind)) - b.level; short > 0 {
			w = max(w, time.Duration(short*b.Period.Seconds()/float64(b.Limit)*float64(time.Second)))
		}
	}
	return w
}

// writeHeaders reports, per kind, the window with fewer whole tokens left
// (the day on a tie): the header then tells one window exactly and the
// other only that it holds at least as much.
func (s *lawServer) writeHeaders(h http.Header) {
	if s.withoutHeaders {
		return
	}
	if s.garbleHeaders {
		h.Set(headers.RateLimitBucket, "hour")
		h.Set(headers.RateLimitLimit, "lots")
		h.Set(headers.RateLimitRemaining, "-3")
		h.Set(headers.RateLimitReset, "NaN")
		return
	}
	var st headers.Status
	for _, k := range []headers.Kind{headers.Requests, headers.Complexity} {
		var best *lawBucket
		for i := range s.buckets {
			b := &s.buckets[i]
			if b.Kind != k {
				continue
			}
			if best == nil || int64(b.level) < int64(best.level) || (int64(b.level) == int64(best.level) && b.Window == headers.Day) {
				best = b
			}
		}
		if best == nil {
			continue
		}
		ws := headers.WindowState{
			Window:    best.Window,
			Limit:     best.Limit,
			Remaining: max(0, int64(best.level+tolerance)),
			Reset:     time.Duration((float64(best.Limit) - best.level) * best.Period.Seconds() / float64(best.Limit) * float64(time.Second)),
		}
		if k == headers.Requests {
			st.Requests = ws
		} else {
			st.Complexity = ws
		}
	}
	st.Write(h)
}

// setLimit changes the limit of the bucket of kind k and window w, keeping
// its level (at most the new limit): the server changed the plan.
func (s *lawServer) setLimit(k headers.Kind, w headers.Window, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refill(time.Now())
	for i := range s.buckets {
		if b := &s.buckets[i]; b.Kind == k && b.Window == w {
			b.Limit = limit
			b.level = min(b.level, float64(limit))
		}
	}
}
