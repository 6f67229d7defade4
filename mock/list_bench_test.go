package mock

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fillNotes stores n notes on the default key through the API, with
// created_at and updated_at one second apart (newest last), each of the first
// ten in a collection, and returns the collection's id.
func fillNotes(tb testing.TB, s *Server, n int) string {
	tb.Helper()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	coll := serveJSON(tb, s, "POST", "/v2/collections", `{"title":"bench"}`)["id"].(string)
	for i := range n {
		ts := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		body := fmt.Sprintf(`{"content":"# Note %d\n\nSome text.","created_at":%q,"updated_at":%q}`, i, ts, ts)
		if i < 10 {
			body = fmt.Sprintf(`{"content":"# Note %d","collection_ids":[%q],"created_at":%q,"updated_at":%q}`, i, coll, ts, ts)
		}
		serveJSON(tb, s, "POST", "/v2/notes", body)
	}
	return coll
}

// serveJSON sends one request to s in process and decodes its 200 body.
func serveJSON(tb testing.TB, s *Server, method, target, body string) map[string]any {
	tb.Helper()
	status, m := serveRaw(tb, s, method, target, body)
	if status != http.StatusOK {
		tb.Fatalf("%s %s: %d %v", method, target, status, m)
	}
	return m
}

// serveRaw sends one request to s in process and returns its status and
// decoded body.
func serveRaw(tb testing.TB, s *Server, method, target, body string) (int, map[string]any) {
	tb.Helper()
	req := httptest.NewRequest(method, "http://mem.test"+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		tb.Fatalf("%s %s: %d %q: %v", method, target, w.Code, w.Body.Bytes(), err)
	}
	return w.Code, m
}

// BenchmarkListNotesPage measures one GET /v2/notes page of 50 (the first,
// and one from the middle through its cursor) at 1, 1k and 100k stored notes,
// in process (no sockets).
func BenchmarkListNotesPage(b *testing.B) {
	for _, n := range []int{1, 1_000, 100_000} {
		s := MustNew(Config{Limits: benchLimits})
		fillNotes(b, s, n)
		b.Run(fmt.Sprintf("notes=%d/first", n), func(b *testing.B) {
			benchGet(b, s, "/v2/notes?limit=50")
		})
		b.Run(fmt.Sprintf("notes=%d/middle", n), func(b *testing.B) {
			benchGet(b, s, "/v2/notes?limit=50&page="+middleCursor(s))
		})
		b.Run(fmt.Sprintf("notes=%d/collection", n), func(b *testing.B) {
			benchGet(b, s, "/v2/notes?limit=50&order_by=created_at&collection_id="+s.Collections(DefaultKey)[0].ID)
		})
	}
}

// BenchmarkListCollectionsPage measures one GET /v2/collections page of 50
// at 1, 1k and 100k stored collections.
func BenchmarkListCollectionsPage(b *testing.B) {
	for _, n := range []int{1, 1_000, 100_000} {
		s := MustNew(Config{Limits: benchLimits})
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			ts := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
			serveJSON(b, s, "POST", "/v2/collections", fmt.Sprintf(`{"title":"c%d","created_at":%q,"updated_at":%q}`, i, ts, ts))
		}
		b.Run(fmt.Sprintf("collections=%d", n), func(b *testing.B) {
			benchGet(b, s, "/v2/collections?limit=50")
		})
	}
}

// BenchmarkExport pages through every note, 100 a page, as an export would.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		s := MustNew(Config{Limits: benchLimits})
		fillNotes(b, s, n)
		b.Run(fmt.Sprintf("notes=%d", n), func(b *testing.B) {
			for b.Loop() {
				if got := export(b, s, "/v2/notes?limit=100"); got != n {
					b.Fatalf("exported %d of %d notes", got, n)
				}
			}
		})
		// A filter on the other time than the order's admits every note but
		// must be checked note by note.
		b.Run(fmt.Sprintf("notes=%d/filtered", n), func(b *testing.B) {
			for b.Loop() {
				if got := export(b, s, "/v2/notes?limit=100&filter_by_created_after=2020-01-01T00:00:00Z"); got != n {
					b.Fatalf("exported %d of %d notes", got, n)
				}
			}
		})
	}
}

// export follows next_page from target to the end and returns how many
// distinct notes it saw; it fails on a note served twice.
func export(tb testing.TB, s *Server, target string) int {
	tb.Helper()
	seen := map[string]bool{}
	page := ""
	for {
		t := target
		if page != "" {
			t += "&page=" + page
		}
		m := serveJSON(tb, s, "GET", t, "")
		for _, r := range m["results"].([]any) {
			id := r.(map[string]any)["id"].(string)
			if seen[id] {
				tb.Fatalf("note %s served twice", id)
			}
			seen[id] = true
		}
		next, ok := m["next_page"].(string)
		if !ok {
			return len(seen)
		}
		page = next
	}
}

// middleCursor is the cursor of a GET /v2/notes page (no filters, by
// updated_at) that starts in the middle of the key's notes.
func middleCursor(s *Server) string {
	notes := s.Notes(DefaultKey)
	mid := notes[len(notes)/2]
	b, _ := json.Marshal(cursor{
		ID: mid.ID, OrderBy: "updated_at", Fingerprint: listFingerprint(url.Values{}),
		Value: mid.UpdatedAt.UTC().Format(time.RFC3339Nano),
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

func benchGet(b *testing.B, s *Server, target string) {
	b.Helper()
	req := httptest.NewRequest("GET", "http://mem.test"+target, nil)
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body.Bytes())
		}
	}
}
