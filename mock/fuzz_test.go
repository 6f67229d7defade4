package mock

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
)

// FuzzRequest sends arbitrary bodies, paths and queries to every route: the
// mock must never panic, and must answer JSON, an error envelope unless 200,
// and a 405 with Allow.
func FuzzRequest(f *testing.F) {
	noteID := "3b2f9c1e-8f1a-4c39-9d3e-5a0c1d2e3f40"
	collID := "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	s := MustNew(Config{Limits: Limits{
		RequestsPerMinute: 1 << 30, RequestsPerDay: 1 << 24,
		ComplexityPerMinute: 1 << 30, ComplexityPerDay: 1 << 24,
	}})
	c := s.Client()
	send := func(method, target string, body []byte) (*http.Response, []byte, bool) {
		req, err := http.NewRequest(method, "http://mem.test"+target, bytes.NewReader(body))
		if err != nil {
			return nil, nil, false
		}
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		resp, err := c.Do(req)
		if err != nil {
			f.Fatalf("transport error: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b, true
	}
	send("POST", "/v2/notes", []byte(`{"id":"`+noteID+`","content":"seed note\n- [ ] task"}`))
	send("POST", "/v2/collections", []byte(`{"id":"`+collID+`","title":"seed"}`))

	for i, r := range routes {
		path := r.pattern
		path = replaceParam(path, "{note_id}", noteID)
		path = replaceParam(path, "{collection_id}", collID)
		path = replaceParam(path, "{source_collection_id}", collID)
		f.Add(uint8(i), path, "", []byte(`{}`))
	}
	f.Add(uint8(0), "/v2/mem-it", "", []byte(`{"input":"x","timestamp":"2020-01-01T00:00:00Z"}`))
	f.Add(uint8(1), "/v2/notes", "", []byte(`{"content":"x","collection_ids":["`+collID+`"],"collection_titles":["SEED"]}`))
	f.Add(uint8(2), "/v2/notes", "limit=2&order_by=created_at&contains_tasks=true&page=eyJ9", []byte(nil))
	f.Add(uint8(3), "/v2/notes/search", "limit=50&offset=3&snapshot_id="+uuid.NewString(), []byte(`{"query":"seed","config":{"include_note_content":true}}`))
	f.Add(uint8(5), "/v2/notes/"+noteID, "", []byte(`{"content":"y","version":1e400}`))
	f.Add(uint8(5), "/v2/notes/"+noteID, "", []byte(`{"content":"y","version":-1,"updated_at":"2020-13-45T99:00:00+25:00"}`))
	f.Add(uint8(19), "/v2/collections/"+collID+"/notes/"+noteID+"/move", "", []byte(`{"target_collection_id":null}`))
	f.Add(uint8(1), "/v2/notes", "", []byte("\xff\xfe{\"content\":\"\xff\"}"))
	f.Add(uint8(1), "/v2/notes", "", []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Add(uint8(7), "/v2/notes//trash", "", []byte(nil))
	f.Add(uint8(12), "/v2/collections", "", []byte(`{"title":"t","description":7}`))
	// Paths read loosely or strictly, and wrong methods (405 with Allow).
	f.Add(uint8(4), "/v2/notes/search", "", []byte(nil))
	f.Add(uint8(3), "//v2/notes/search/", "", []byte(`{"query":"seed"}`))
	f.Add(uint8(7), "/v2/notes/"+noteID+"/./trash", "", []byte(nil))
	f.Add(uint8(7), "/v2/notes/../trash", "", []byte(nil))
	f.Add(uint8(4), "/v2/notes/a b/", "", []byte(nil))
	f.Add(uint8(0), "/v2/notes/"+noteID, "", []byte(nil))
	f.Add(uint8(17), "/v2/collections/search", "", []byte(nil))

	f.Fuzz(func(t *testing.T, ri uint8, path, query string, body []byte) {
		r := routes[int(ri)%len(routes)]
		target := (&url.URL{Path: path, RawQuery: query}).String()
		resp, b, ok := send(r.method, target, body)
		if !ok {
			return
		}
		if resp.StatusCode == 200 {
			if !json.Valid(b) {
				t.Fatalf("200 with invalid JSON: %q", b)
			}
			return
		}
		var env struct {
			Error *struct {
				Type    string         `json:"type"`
				Message string         `json:"message"`
				Details map[string]any `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &env); err != nil || env.Error == nil || env.Error.Type == "" || env.Error.Details == nil {
			t.Fatalf("%d without an error envelope: %q", resp.StatusCode, b)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("server error: %s", b)
		}
		if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
			t.Fatalf("405 without Allow: %s", b)
		}
	})
}

func replaceParam(path, param, v string) string {
	return string(bytes.ReplaceAll([]byte(path), []byte(param), []byte(v)))
}
