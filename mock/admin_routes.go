package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// adminHandler serves one admin call.
type adminHandler func(s *Server, r *http.Request, reqID string) *result

// adminRoutes are the admin API's endpoints (see the package documentation).
var adminRoutes = []struct {
	pattern string
	h       adminHandler
}{
	{"GET /_mock/state", (*Server).adminState},
	{"POST /_mock/reset", (*Server).adminReset},
	{"GET /_mock/limits", (*Server).adminLimits},
	{"PUT /_mock/limits", (*Server).adminSetLimits},
	{"GET /_mock/faults", (*Server).adminFaults},
	{"PUT /_mock/faults", (*Server).adminSetFaults},
	{"POST /_mock/faults/next", (*Server).adminFailNext},
	{"GET /_mock/notes", (*Server).adminNotes},
	{"POST /_mock/spend", (*Server).adminSpend},
	{"GET /_mock/journal", (*Server).adminJournal},
}

// adminRouter matches the admin routes; paths must match exactly.
var adminRouter = newRouter(false, len(adminRoutes), func(i int) string { return adminRoutes[i].pattern })

// admin serves a request under /_mock: unknown paths get 404, known paths
// called with another method 405 (with Allow), both in the error envelope.
func (s *Server) admin(r *http.Request, reqID string) *result {
	m := adminRouter.match(r)
	switch {
	case m.index >= 0:
		return adminRoutes[m.index].h(s, m.req, reqID)
	case m.allow != "":
		res := errorResult(reqID, methodNotAllowed(r))
		res.header.Set("Allow", m.allow)
		return res
	}
	return errorResult(reqID, errorf(http.StatusNotFound, ErrTypeNotFound, "no such admin endpoint: %s", r.URL.Path))
}

func (s *Server) adminState(_ *http.Request, reqID string) *result {
	st := adminState{Limits: s.Limits().JSON(), Count429: s.Count429()}
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
}

func (s *Server) adminReset(_ *http.Request, reqID string) *result {
	s.Reset()
	return jsonResult(http.StatusOK, reqID, map[string]bool{"ok": true})
}

func (s *Server) adminLimits(_ *http.Request, reqID string) *result {
	return jsonResult(http.StatusOK, reqID, s.Limits().JSON())
}

// adminSetLimits changes the limits: the body's fields replace those in
// force, the others stay; "costs", when present and not null, replaces the
// whole table.
func (s *Server) adminSetLimits(r *http.Request, reqID string) *result {
	j := s.Limits().JSON()
	j.Costs = nil
	if err := readStrict(r, &j); err != nil {
		return errorResult(reqID, badRequest("body must be a limits JSON object, as GET /_mock/limits returns: %v", err))
	}
	l, err := j.Limits()
	if err == nil {
		if j.Costs == nil {
			l.Costs = s.Limits().Costs
		}
		err = s.SetLimits(l)
	}
	if err != nil {
		return errorResult(reqID, invalid("body", "%v", err))
	}
	return jsonResult(http.StatusOK, reqID, s.Limits().JSON())
}

// readStrict reads an admin request's body (at most 1 MiB) into v with
// decodeStrict.
func readStrict(r *http.Request, v any) error {
	body, tooLarge, err := readBody(r, 1<<20)
	switch {
	case tooLarge:
		return errors.New("the body is larger than 1 MiB")
	case err != nil:
		return err
	case len(bytes.TrimSpace(body)) == 0:
		return errors.New("the body is empty")
	}
	return decodeStrict(body, v)
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data, so that a misspelled field is an error rather than a
// request that silently leaves that field at zero.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

func (s *Server) adminFaults(_ *http.Request, reqID string) *result {
	return jsonResult(http.StatusOK, reqID, s.Faults().JSON())
}

func (s *Server) adminSetFaults(r *http.Request, reqID string) *result {
	var j FaultsJSON
	if err := readStrict(r, &j); err != nil {
		return errorResult(reqID, badRequest("body must be a faults JSON object, as GET /_mock/faults returns: %v", err))
	}
	f, err := j.Faults()
	if err == nil {
		err = s.SetFaults(f)
	}
	if err != nil {
		return errorResult(reqID, invalid("body", "%v", err))
	}
	return jsonResult(http.StatusOK, reqID, s.Faults().JSON())
}

func (s *Server) adminFailNext(r *http.Request, reqID string) *result {
	var in struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Count  int    `json:"count"`
		Fault  string `json:"fault"`
	}
	if err := readStrict(r, &in); err != nil {
		return errorResult(reqID, badRequest("body must be {\"method\",\"path\",\"count\",\"fault\"}: %v", err))
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
}

func (s *Server) adminNotes(r *http.Request, reqID string) *result {
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
}

func (s *Server) adminSpend(r *http.Request, reqID string) *result {
	var in struct {
		Requests   int64 `json:"requests"`
		Complexity int64 `json:"complexity"`
	}
	if err := readStrict(r, &in); err != nil {
		return errorResult(reqID, badRequest(`body must be {"requests":N,"complexity":N}: %v`, err))
	}
	key, _ := bearer(r)
	if !s.Spend(key, in.Requests, in.Complexity) {
		return errorResult(reqID, errorf(http.StatusUnauthorized, ErrTypeUnauthorized,
			"name the key to spend from with Authorization: Bearer KEY"))
	}
	lv, _ := s.Levels(key)
	return jsonResult(http.StatusOK, reqID, map[string]any{"levels": lv})
}

func (s *Server) adminJournal(_ *http.Request, reqID string) *result {
	return jsonResult(http.StatusOK, reqID, map[string]any{"entries": s.Journal(), "count_429": s.Count429()})
}
