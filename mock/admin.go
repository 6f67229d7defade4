package mock

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// The admin API is described in the package documentation (doc.go).

// FaultsJSON is Faults as the admin API reads and writes them.
type FaultsJSON struct {
	Latency            string         `json:"latency,omitempty"`
	LatencyJitter      string         `json:"latency_jitter,omitempty"`
	ResponseLatency    string         `json:"response_latency,omitempty"`
	ResponseJitter     string         `json:"response_jitter,omitempty"`
	ErrorRate          float64        `json:"error_rate"`
	ResetRate          float64        `json:"reset_rate"`
	LostRate           float64        `json:"lost_rate"`
	MissingHeadersRate float64        `json:"missing_headers_rate"`
	GarbledHeadersRate float64        `json:"garbled_headers_rate"`
	RetryAfterDate     bool           `json:"retry_after_date"`
	Neighbour          *NeighbourJSON `json:"neighbour,omitempty"`
}

// NeighbourJSON is Neighbour as the admin API reads and writes it.
type NeighbourJSON struct {
	Interval   string `json:"interval"`
	Requests   int64  `json:"requests,omitempty"`
	Complexity int64  `json:"complexity,omitempty"`
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
	Limits   limitsJSON      `json:"limits"`
	Count429 int             `json:"count_429"`
	Keys     []adminKeyState `json:"keys"`
}

type limitsJSON struct {
	RequestsPerMinute   int64  `json:"requests_per_minute"`
	RequestsPerDay      int64  `json:"requests_per_day"`
	ComplexityPerMinute int64  `json:"complexity_per_minute"`
	ComplexityPerDay    int64  `json:"complexity_per_day"`
	Minute              string `json:"minute"`
	Day                 string `json:"day"`
	MemItComplexity     int64  `json:"mem_it_complexity"`
}

func (s *Server) admin(r *http.Request, reqID string) *result {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_mock/state":
		l := s.cfg.Limits
		st := adminState{
			Limits: limitsJSON{
				RequestsPerMinute: l.RequestsPerMinute, RequestsPerDay: l.RequestsPerDay,
				ComplexityPerMinute: l.ComplexityPerMinute, ComplexityPerDay: l.ComplexityPerDay,
				Minute: l.Minute.String(), Day: l.Day.String(), MemItComplexity: l.MemItComplexity,
			},
			Count429: s.Count429(),
		}
		for _, k := range s.cfg.Keys {
			lv, _ := s.Levels(k)
			ks := s.keys[k]
			ks.mu.Lock()
			st.Keys = append(st.Keys, adminKeyState{
				Key: Key(k), Levels: lv, Notes: len(ks.notes), Collections: len(ks.colls), QuotaUsed: ks.quotaUsed,
			})
			ks.mu.Unlock()
		}
		return jsonResult(http.StatusOK, reqID, st)
	case "POST /_mock/reset":
		s.Reset()
		return jsonResult(http.StatusOK, reqID, map[string]bool{"ok": true})
	case "GET /_mock/faults":
		return jsonResult(http.StatusOK, reqID, s.Faults().JSON())
	case "PUT /_mock/faults":
		var j FaultsJSON
		body, tooLarge, err := readBody(r, 1<<20)
		if tooLarge || err != nil || json.Unmarshal(body, &j) != nil {
			return errorResult(reqID, badRequest("body must be a faults JSON object"))
		}
		f, err := j.Faults()
		if err == nil {
			err = s.SetFaults(f)
		}
		if err != nil {
			return errorResult(reqID, invalid("body", "%v", err))
		}
		return jsonResult(http.StatusOK, reqID, s.Faults().JSON())
	case "POST /_mock/faults/next":
		var in struct {
			Method string `json:"method"`
			Path   string `json:"path"`
			Count  int    `json:"count"`
			Fault  string `json:"fault"`
		}
		body, tooLarge, err := readBody(r, 1<<20)
		if tooLarge || err != nil || json.Unmarshal(body, &in) != nil {
			return errorResult(reqID, badRequest("body must be {\"method\",\"path\",\"count\",\"fault\"}"))
		}
		f, err := ParseFault(in.Fault)
		if err != nil {
			return errorResult(reqID, invalid("fault", "%v", err))
		}
		if in.Count <= 0 || in.Path == "" {
			return errorResult(reqID, invalid("count", "count must be positive and path set"))
		}
		s.FailNext(in.Method, in.Path, in.Count, f)
		return jsonResult(http.StatusOK, reqID, map[string]bool{"ok": true})
	case "GET /_mock/notes":
		key, _ := bearer(r)
		if s.keys[key] == nil {
			return errorResult(reqID, errorf(http.StatusUnauthorized, ErrTypeUnauthorized,
				"name the key whose notes to list with Authorization: Bearer KEY"))
		}
		notes := []adminNote{}
		for _, n := range s.Notes(key) {
			an := adminNote{
				ID: n.ID, Title: n.Title, Content: n.Content, CollectionIDs: n.CollectionIDs,
				CreatedAt: fmtTime(n.CreatedAt), UpdatedAt: fmtTime(n.UpdatedAt), Version: n.Version,
			}
			if n.TrashedAt != nil {
				an.TrashedAt = fmtTimePtr(*n.TrashedAt)
			}
			notes = append(notes, an)
		}
		return jsonResult(http.StatusOK, reqID, map[string]any{"notes": notes})
	case "POST /_mock/spend":
		var in struct {
			Requests   int64 `json:"requests"`
			Complexity int64 `json:"complexity"`
		}
		body, tooLarge, err := readBody(r, 1<<20)
		if tooLarge || err != nil || json.Unmarshal(body, &in) != nil {
			return errorResult(reqID, badRequest(`body must be {"requests":N,"complexity":N}`))
		}
		key, _ := bearer(r)
		if !s.Spend(key, in.Requests, in.Complexity) {
			return errorResult(reqID, errorf(http.StatusUnauthorized, ErrTypeUnauthorized,
				"name the key to spend from with Authorization: Bearer KEY"))
		}
		lv, _ := s.Levels(key)
		return jsonResult(http.StatusOK, reqID, map[string]any{"levels": lv})
	case "GET /_mock/journal":
		entries := s.Journal()
		return jsonResult(http.StatusOK, reqID, map[string]any{"entries": entries, "count_429": s.Count429()})
	}
	known := []string{"/_mock/state", "/_mock/notes", "/_mock/spend", "/_mock/reset", "/_mock/faults", "/_mock/faults/next", "/_mock/journal"}
	if slices.Contains(known, r.URL.Path) {
		return errorResult(reqID, errorf(http.StatusMethodNotAllowed, ErrTypeMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
	}
	return errorResult(reqID, errorf(http.StatusNotFound, ErrTypeNotFound, "no such admin endpoint: %s", r.URL.Path))
}
