package mock

import (
	"fmt"
	"maps"
	"time"
)

// The admin API is described in the package documentation (doc.go).

// FaultsJSON is Faults as the admin API reads and writes them.
// Each field is the Faults field of the same name; durations are Go
// duration strings ("250ms"), and "" or an absent field means 0.
type FaultsJSON struct {
	// Latency is Faults.Latency, the uplink delay of every call.
	Latency string `json:"latency,omitempty"`
	// LatencyJitter is Faults.LatencyJitter, a random extra uplink delay.
	LatencyJitter string `json:"latency_jitter,omitempty"`
	// ResponseLatency is Faults.ResponseLatency, the downlink delay.
	ResponseLatency string `json:"response_latency,omitempty"`
	// ResponseJitter is Faults.ResponseJitter, a random extra downlink
	// delay.
	ResponseJitter string `json:"response_jitter,omitempty"`
	// ErrorRate is Faults.ErrorRate, the probability (0 to 1) of a 5xx.
	ErrorRate float64 `json:"error_rate"`
	// ResetRate is Faults.ResetRate, the probability of a connection reset
	// before the call arrives.
	ResetRate float64 `json:"reset_rate"`
	// LostRate is Faults.LostRate, the probability of a processed call
	// whose response is lost.
	LostRate float64 `json:"lost_rate"`
	// MissingHeadersRate is Faults.MissingHeadersRate, the probability of
	// a response without rate-limit headers.
	MissingHeadersRate float64 `json:"missing_headers_rate"`
	// GarbledHeadersRate is Faults.GarbledHeadersRate, the probability of
	// malformed rate-limit headers.
	GarbledHeadersRate float64 `json:"garbled_headers_rate"`
	// RetryAfterDate is Faults.RetryAfterDate: Retry-After as an HTTP-date.
	RetryAfterDate bool `json:"retry_after_date"`
	// Neighbour is Faults.Neighbour; absent or null means none.
	Neighbour *NeighbourJSON `json:"neighbour,omitempty"`
}

// NeighbourJSON is Neighbour as the admin API reads and writes it.
type NeighbourJSON struct {
	// Interval is Neighbour.Interval as a Go duration string ("5s"):
	// the time between two of the neighbour's calls. Required.
	Interval string `json:"interval"`
	// Requests is Neighbour.Requests, the request cost of each call
	// (absent or 0: 1).
	Requests int64 `json:"requests,omitempty"`
	// Complexity is Neighbour.Complexity, the complexity cost of each call
	// (absent or 0: 1).
	Complexity int64 `json:"complexity,omitempty"`
}

// JSON converts f for the admin API.
func (f Faults) JSON() FaultsJSON {
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	out := FaultsJSON{
		Latency: dur(f.Latency), LatencyJitter: dur(f.LatencyJitter),
		ResponseLatency: dur(f.ResponseLatency), ResponseJitter: dur(f.ResponseJitter),
		ErrorRate: f.ErrorRate, ResetRate: f.ResetRate, LostRate: f.LostRate,
		MissingHeadersRate: f.MissingHeadersRate, GarbledHeadersRate: f.GarbledHeadersRate,
		RetryAfterDate: f.RetryAfterDate,
	}
	if n := f.Neighbour; n != nil {
		out.Neighbour = &NeighbourJSON{Interval: n.Interval.String(), Requests: n.Requests, Complexity: n.Complexity}
	}
	return out
}

// Faults converts j back, failing on a malformed duration.
func (j FaultsJSON) Faults() (Faults, error) {
	dur := func(s string) (time.Duration, error) {
		if s == "" {
			return 0, nil
		}
		return time.ParseDuration(s)
	}
	var f Faults
	var err error
	if f.Latency, err = dur(j.Latency); err != nil {
		return f, err
	}
	if f.LatencyJitter, err = dur(j.LatencyJitter); err != nil {
		return f, err
	}
	if f.ResponseLatency, err = dur(j.ResponseLatency); err != nil {
		return f, err
	}
	if f.ResponseJitter, err = dur(j.ResponseJitter); err != nil {
		return f, err
	}
	f.ErrorRate, f.ResetRate, f.LostRate = j.ErrorRate, j.ResetRate, j.LostRate
	f.MissingHeadersRate, f.GarbledHeadersRate = j.MissingHeadersRate, j.GarbledHeadersRate
	f.RetryAfterDate = j.RetryAfterDate
	if n := j.Neighbour; n != nil {
		iv, err := dur(n.Interval)
		if err != nil {
			return f, err
		}
		f.Neighbour = &Neighbour{Interval: iv, Requests: n.Requests, Complexity: n.Complexity}
	}
	return f, f.validate()
}

type adminNote struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	Content       string   `json:"content"`
	CollectionIDs []string `json:"collection_ids"`
	CreatedAt     string   `json:"created_at"`
	UpdatedAt     string   `json:"updated_at"`
	TrashedAt     *string  `json:"trashed_at"`
	Version       int64    `json:"version"`
}

type adminKeyState struct {
	Key         Key    `json:"key"`
	Levels      Levels `json:"levels"`
	Notes       int    `json:"notes"`
	Collections int    `json:"collections"`
	QuotaUsed   int64  `json:"quota_used"`
}

type adminState struct {
	Limits   LimitsJSON      `json:"limits"`
	Count429 int             `json:"count_429"`
	Keys     []adminKeyState `json:"keys"`
}

// LimitsJSON is Limits as the admin API reads and writes them: durations
// are Go duration strings, costs map "METHOD /path" patterns to their
// price.
type LimitsJSON struct {
	// RequestsPerMinute is Limits.RequestsPerMinute, the request tokens of
	// each "minute" window.
	RequestsPerMinute int64 `json:"requests_per_minute"`
	// RequestsPerDay is Limits.RequestsPerDay, the request tokens of each
	// "day" window.
	RequestsPerDay int64 `json:"requests_per_day"`
	// ComplexityPerMinute is Limits.ComplexityPerMinute, the complexity
	// tokens of each "minute" window.
	ComplexityPerMinute int64 `json:"complexity_per_minute"`
	// ComplexityPerDay is Limits.ComplexityPerDay, the complexity tokens
	// of each "day" window.
	ComplexityPerDay int64 `json:"complexity_per_day"`
	// Minute is Limits.Minute, the period of the "minute" windows ("1m0s").
	Minute string `json:"minute"`
	// Day is Limits.Day, the period of the "day" windows ("24h0m0s").
	Day string `json:"day"`
	// MemItComplexity is Limits.MemItComplexity, the complexity cost of
	// POST /v2/mem-it.
	MemItComplexity int64 `json:"mem_it_complexity"`
	// Costs is Limits.Costs: "METHOD /path" patterns and their prices.
	Costs map[string]Cost `json:"costs"`
}

// JSON converts l for the admin API.
func (l Limits) JSON() LimitsJSON {
	costs := maps.Clone(l.Costs)
	if costs == nil {
		costs = map[string]Cost{}
	}
	return LimitsJSON{
		RequestsPerMinute: l.RequestsPerMinute, RequestsPerDay: l.RequestsPerDay,
		ComplexityPerMinute: l.ComplexityPerMinute, ComplexityPerDay: l.ComplexityPerDay,
		Minute: l.Minute.String(), Day: l.Day.String(), MemItComplexity: l.MemItComplexity,
		Costs: costs,
	}
}

// Limits converts j back, failing on a malformed duration (the limits'
// own checks are SetLimits' and New's).
func (j LimitsJSON) Limits() (Limits, error) {
	l := Limits{
		RequestsPerMinute: j.RequestsPerMinute, RequestsPerDay: j.RequestsPerDay,
		ComplexityPerMinute: j.ComplexityPerMinute, ComplexityPerDay: j.ComplexityPerDay,
		MemItComplexity: j.MemItComplexity, Costs: maps.Clone(j.Costs),
	}
	var err error
	if l.Minute, err = time.ParseDuration(j.Minute); err != nil {
		return l, fmt.Errorf("minute: %w", err)
	}
	if l.Day, err = time.ParseDuration(j.Day); err != nil {
		return l, fmt.Errorf("day: %w", err)
	}
	return l, nil
}
