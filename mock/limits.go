package mock

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Cost is what one call of an endpoint spends: request tokens and complexity
// tokens. In Limits.Costs a zero field keeps the endpoint's default (1, and
// Limits.MemItComplexity for the complexity of POST /v2/mem-it), so no call
// can be made free.
type Cost struct {
	Requests   int64 `json:"requests,omitempty"`   // request tokens per call
	Complexity int64 `json:"complexity,omitempty"` // complexity tokens per call
}

// costMethods are the methods a Limits.Costs pattern may name.
var costMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// canonical returns a cost pattern ("POST /v2/notes/{note_id}/trash") with
// every wildcard unnamed ("POST /v2/notes/{}/trash"), so that patterns that
// match the same requests compare equal, or an error if it is not a method,
// a space and a path of literal and {name} segments under "/".
func canonical(pattern string) (string, error) {
	method, path, ok := strings.Cut(pattern, " ")
	switch {
	case !ok || !slices.Contains(costMethods, method):
		return "", fmt.Errorf("cost pattern %q: want \"METHOD /path\" with METHOD one of %s", pattern, strings.Join(costMethods, ", "))
	case !strings.HasPrefix(path, "/") || path == "/" || path == "/_mock" || strings.HasPrefix(path, "/_mock/"):
		return "", fmt.Errorf("cost pattern %q: the path must start with / and not be the admin API's", pattern)
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		name, wild := strings.CutPrefix(seg, "{")
		if wild {
			name, wild = strings.CutSuffix(name, "}")
		}
		switch {
		case seg == "":
			return "", fmt.Errorf("cost pattern %q: empty path segment", pattern)
		case wild && name != "" && !strings.ContainsAny(name, "{}.$ "):
			segs[i] = "{}"
		case strings.ContainsAny(seg, "{} "):
			return "", fmt.Errorf("cost pattern %q: segment %q is neither a name nor a {wildcard}", pattern, seg)
		}
	}
	return method + " /" + strings.Join(segs, "/"), nil
}

// routeCanon is each API route's canonical pattern, by index in routes.
var routeCanon = func() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		c, err := canonical(r.method + " " + r.pattern)
		if err != nil {
			panic(err) // a bug in the route table
		}
		out[i] = c
	}
	return out
}()

// costTable prices calls: API routes by their canonical pattern, and
// endpoints no route serves (see Limits.Costs) through a router of their
// own.
type costTable struct {
	memIt   int64           // complexity of POST /v2/mem-it without an entry
	byRoute map[string]Cost // canonical pattern of an API route → its entry
	extra   *router         // patterns no API route serves, or nil
	extraC  []Cost          // their entries, by router index
}

// compileCosts checks l.Costs and builds its table.
func compileCosts(l Limits) (costTable, error) {
	t := costTable{memIt: l.MemItComplexity, byRoute: map[string]Cost{}}
	seen := map[string]string{}
	var extraP []string
	for p, c := range l.Costs {
		cp, err := canonical(p)
		if err != nil {
			return t, err
		}
		if other, dup := seen[cp]; dup {
			return t, fmt.Errorf("cost patterns %q and %q name the same endpoint", other, p)
		}
		seen[cp] = p
		if c.Requests < 0 || c.Complexity < 0 {
			return t, fmt.Errorf("cost of %q is negative", p)
		}
		if slices.Contains(routeCanon, cp) {
			t.byRoute[cp] = c
			continue
		}
		extraP = append(extraP, p)
		t.extraC = append(t.extraC, c)
	}
	if len(extraP) > 0 {
		var err error
		if t.extra, err = newCostRouter(extraP); err != nil {
			return t, err
		}
	}
	return t, nil
}

// newCostRouter is newRouter for the patterns, with ServeMux's panic on two
// patterns that conflict (neither more specific than the other) turned into
// an error.
func newCostRouter(patterns []string) (rt *router, err error) {
	defer func() {
		if p := recover(); p != nil {
			rt, err = nil, fmt.Errorf("cost patterns conflict: %v", p)
		}
	}()
	return newRouter(true, len(patterns), func(i int) string { return patterns[i] }), nil
}

// price returns what a call costs: rt is the API route it matched (nil for
// none); extra reports that it matched an entry for an endpoint no API route
// serves.
func (t *costTable) price(r *http.Request, rt *route, index int) (c Cost, extra bool) {
	def := Cost{Requests: 1, Complexity: 1}
	if rt == nil {
		if t.extra == nil {
			return def, false
		}
		m := t.extra.match(r)
		if m.index < 0 {
			return def, false
		}
		return withDefault(t.extraC[m.index], def), true
	}
	if rt.method == http.MethodPost && rt.pattern == "/v2/mem-it" {
		def.Complexity = t.memIt
	}
	return withDefault(t.byRoute[routeCanon[index]], def), false
}

func withDefault(c, def Cost) Cost {
	if c.Requests == 0 {
		c.Requests = def.Requests
	}
	if c.Complexity == 0 {
		c.Complexity = def.Complexity
	}
	return c
}

// SetLimits replaces the limits and the cost table while the server runs,
// as Mem may change them. Zero fields take Mem's defaults, as in Config; a
// nil or empty Costs clears the table. Every key keeps its buckets' levels,
// at most the new limits; a bucket whose limit or period changed refills at
// the new rate from now on. Calls already metered keep what they were
// charged. Invalid limits return an error and change nothing. Reset keeps
// the limits set here.
func (s *Server) SetLimits(l Limits) error {
	l = l.withDefaults()
	if err := l.validate(); err != nil {
		return err
	}
	costs, err := compileCosts(l)
	if err != nil {
		return fmt.Errorf("mock: Limits.Costs: %w", err)
	}
	l.Costs = maps.Clone(l.Costs)
	now := time.Now()
	s.mu.Lock()
	s.limits, s.costs = l, costs
	s.mu.Unlock()
	for _, ks := range s.keys {
		ks.mu.Lock()
		ks.meter.setLimits(l, now)
		ks.mu.Unlock()
	}
	return nil
}

// Limits returns the server's limits in force (defaults filled in).
func (s *Server) Limits() Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits
	l.Costs = maps.Clone(l.Costs)
	return l
}

// pricing returns the cost table in force.
func (s *Server) pricing() costTable {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.costs
}

// setLimits gives the meter's four buckets l's numbers, keeping their levels.
func (m *meter) setLimits(l Limits, now time.Time) {
	m.advance(now)
	m.req[0].resize(l.RequestsPerMinute, l.Minute)
	m.req[1].resize(l.RequestsPerDay, l.Day)
	m.cpx[0].resize(l.ComplexityPerMinute, l.Minute)
	m.cpx[1].resize(l.ComplexityPerDay, l.Day)
}

// resize gives an advanced bucket a new capacity and period, keeping its
// level in tokens (the fraction of a token too), at most the new capacity.
func (b *bucket) resize(limit int64, period time.Duration) {
	per := int64(period / time.Microsecond)
	if per != b.per {
		whole, frac := b.level/b.per, float64(b.level%b.per)/float64(b.per)
		if whole >= limit { // also keeps whole × per from overflowing
			whole, frac = limit, 0
		}
		b.level = whole*per + int64(math.Floor(frac*float64(per)))
		b.per = per
	}
	b.limit = limit
	b.level = min(b.level, b.full())
}
