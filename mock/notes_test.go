package mock

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inside a synctest bubble the clock starts at 2000-01-01T00:00:00Z, so test
// timestamps are in 1999.

func TestMemItCreatesANote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Limits: Limits{ComplexityPerMinute: 10000}})
		m := tc.ok("POST", "/v2/mem-it", map[string]any{
			"input": "Atomic Habits\nby James Clear", "instructions": "save it", "context": nil,
			"timestamp": "1999-12-15T09:45:30+01:00",
		})
		tc.checked("MemItResponseSchema")
		assert.True(t, strings.HasPrefix(m["request_id"].(string), "api-request-"))
		notes := tc.s.Notes(DefaultKey)
		require.Len(t, notes, 1)
		assert.Equal(t, "Atomic Habits", notes[0].Title)
		assert.Equal(t, "Atomic Habits\nby James Clear", notes[0].Content)
		assert.Equal(t, time.Date(1999, 12, 15, 8, 45, 30, 0, time.UTC), notes[0].CreatedAt)

		tc.fail(422, ErrTypeValidation, "POST", "/v2/mem-it", map[string]any{})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/mem-it", map[string]any{"input": 5})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/mem-it", map[string]any{"input": "x", "timestamp": "1999-12-15T09:45:30"})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/mem-it", map[string]any{"input": "x", "timestamp": "2000-01-01T00:00:01Z"})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/mem-it", map[string]any{"input": "x", "context": strings.Repeat("é", 10001)})
		tc.fail(400, ErrTypeInvalidRequest, "POST", "/v2/mem-it", `{"input":`)
		tc.fail(400, ErrTypeInvalidRequest, "POST", "/v2/mem-it", ``)
		tc.ok("POST", "/v2/mem-it", map[string]any{"input": strings.Repeat("é", maxMemItInput)})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/mem-it", map[string]any{"input": strings.Repeat("a", maxMemItInput+1)})
		assert.Len(t, tc.s.Notes(DefaultKey), 2, "invalid calls stored nothing")
	})
}

func TestCreateAndReadNote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		id := uuid.NewString()
		m := tc.ok("POST", "/v2/notes", map[string]any{"id": id, "content": "# Sales call\n\nAcme wants more."})
		assert.Equal(t, id, m["id"])
		assert.Equal(t, "Sales call", m["title"])
		assert.EqualValues(t, 1, m["version"])
		assert.Equal(t, []any{}, m["collection_ids"])
		assert.Equal(t, "2000-01-01T00:00:00.000Z", m["created_at"])

		g := tc.ok("GET", "/v2/notes/"+id, nil)
		assert.Equal(t, "# Sales call\n\nAcme wants more.", g["content"])
		assert.Nil(t, g["trashed_at"])
		tc.checked("CreateNoteResponseSchema", "ReadNoteResponseSchema")

		// Create-only ids: a duplicate is a conflict, trashed included.
		e := tc.fail(409, ErrTypeConflict, "POST", "/v2/notes", map[string]any{"id": id, "content": "again"})
		assert.Equal(t, "duplicate_id", e["details"].(map[string]any)["reason"])
		tc.ok("POST", "/v2/notes/"+id+"/trash", nil)
		tc.fail(409, ErrTypeConflict, "POST", "/v2/notes", map[string]any{"id": id, "content": "again"})

		// Timestamps: created_at defaults to updated_at.
		m = tc.ok("POST", "/v2/notes", map[string]any{"content": "old", "updated_at": "1999-06-01T12:00:00+02:00"})
		assert.Equal(t, "1999-06-01T10:00:00.000Z", m["created_at"])
		assert.Equal(t, "1999-06-01T10:00:00.000Z", m["updated_at"])

		// Bad input.
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"content": "x", "id": "not-a-uuid"})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"content": nil})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"content": "x", "created_at": "yesterday"})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"content": "x", "collection_ids": []any{"nope"}})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"content": "x", "collection_ids": "nope"})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", `[1,2]`)
		tc.fail(400, ErrTypeInvalidRequest, "POST", "/v2/notes", `{"content":"x"} {}`)
		// 200,000 characters, but more than 200,000 bytes.
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"content": strings.Repeat("é", maxNoteContent)})
		tc.ok("POST", "/v2/notes", map[string]any{"content": strings.Repeat("e", maxNoteContent)})

		tc.fail(404, ErrTypeNotFound, "GET", "/v2/notes/"+uuid.NewString(), nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes/123", nil)
		tc.fail(405, ErrTypeMethodNotAllowed, "POST", "/v2/notes/"+id, nil)
		tc.fail(404, ErrTypeNotFound, "GET", "/v2/nothing", nil)
		assert.Len(t, tc.s.Notes(DefaultKey), 3)
	})
}

func TestCreateNoteCollections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		a := tc.ok("POST", "/v2/collections", map[string]any{"title": "Acme Corp"})["id"].(string)
		b := tc.ok("POST", "/v2/collections", map[string]any{"title": "Phoenix"})["id"].(string)
		m := tc.ok("POST", "/v2/notes", map[string]any{
			"content":           "x",
			"collection_ids":    []string{a, uuid.NewString()}, // unknown ids are ignored
			"collection_titles": []string{"PHOENIX", "no such"},
		})
		assert.ElementsMatch(t, []any{a, b}, m["collection_ids"])
		c := tc.ok("GET", "/v2/collections/"+a, nil)
		assert.EqualValues(t, 1, c["note_count"])
	})
}

func TestUpdateNoteVersionAndTrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		id := tc.ok("POST", "/v2/notes", map[string]any{"content": "v1"})["id"].(string)
		time.Sleep(time.Second)
		m := tc.ok("PATCH", "/v2/notes/"+id, map[string]any{"content": "Second\nbody", "version": 1})
		assert.EqualValues(t, 2, m["version"])
		assert.Equal(t, "Second", m["title"])
		assert.Equal(t, "2000-01-01T00:00:01.000Z", m["updated_at"])
		assert.Equal(t, "2000-01-01T00:00:00.000Z", m["created_at"])
		assert.Nil(t, m["trashed_at"])

		e := tc.fail(409, ErrTypeConflict, "PATCH", "/v2/notes/"+id, map[string]any{"content": "x", "version": 1})
		assert.EqualValues(t, 2, e["details"].(map[string]any)["current_version"])
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id, map[string]any{"content": "x"})
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id, map[string]any{"content": "x", "version": 0})
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id, map[string]any{"content": "x", "version": 1.5})
		tc.fail(404, ErrTypeNotFound, "PATCH", "/v2/notes/"+uuid.NewString(), map[string]any{"content": "x", "version": 1})

		tc.ok("POST", "/v2/notes/"+id+"/trash", nil)
		g := tc.ok("GET", "/v2/notes/"+id, nil)
		assert.Equal(t, "2000-01-01T00:00:01.000Z", g["trashed_at"])
		tc.fail(409, ErrTypeConflict, "PATCH", "/v2/notes/"+id, map[string]any{"content": "x", "version": 2})
		tc.fail(409, ErrTypeConflict, "PATCH", "/v2/notes/"+id+"/created-at", map[string]any{"created_at": "1999-01-01T00:00:00Z"})
		tc.ok("POST", "/v2/notes/"+id+"/trash", nil) // idempotent

		tc.ok("POST", "/v2/notes/"+id+"/restore", nil)
		assert.Nil(t, tc.ok("GET", "/v2/notes/"+id, nil)["trashed_at"])
		m = tc.ok("PATCH", "/v2/notes/"+id, map[string]any{"content": "third", "version": 2, "updated_at": "1999-05-05T05:05:05Z"})
		assert.EqualValues(t, 3, m["version"])
		assert.Equal(t, "1999-05-05T05:05:05.000Z", m["updated_at"])

		tc.ok("DELETE", "/v2/notes/"+id, nil)
		tc.fail(404, ErrTypeNotFound, "GET", "/v2/notes/"+id, nil)
		tc.fail(404, ErrTypeNotFound, "DELETE", "/v2/notes/"+id, nil)
		tc.fail(404, ErrTypeNotFound, "POST", "/v2/notes/"+id+"/restore", nil)
		tc.checked("UpdateNoteResponseSchema")
		tc.checked("TrashNoteResponseSchema")
		tc.checked("RestoreNoteResponseSchema")
		tc.checked("DeleteNoteResponseSchema")
	})
}

func TestSetNoteCreatedAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		id := tc.ok("POST", "/v2/notes", map[string]any{"content": "x", "created_at": "1999-06-01T00:00:00Z"})["id"].(string)
		m := tc.ok("PATCH", "/v2/notes/"+id+"/created-at", map[string]any{"created_at": "1990-01-07T09:00:00+01:00"})
		assert.Equal(t, "1990-01-07T08:00:00.000Z", m["created_at"])
		assert.EqualValues(t, 1, m["version"], "metadata only")
		// Back to the original creation time is allowed, later is not.
		tc.ok("PATCH", "/v2/notes/"+id+"/created-at", map[string]any{"created_at": "1999-06-01T00:00:00Z"})
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id+"/created-at", map[string]any{"created_at": "1999-06-01T00:00:01Z"})
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id+"/created-at", map[string]any{"created_at": "1999-06-01T00:00:00"})
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id+"/created-at", map[string]any{})
		tc.checked("SetNoteCreatedAtResponseSchema")
	})
}

func TestListNotesPaginationFiltersOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Limits: Limits{RequestsPerMinute: 10000, ComplexityPerMinute: 10000}})
		col := tc.ok("POST", "/v2/collections", map[string]any{"title": "C"})["id"].(string)
		var ids []string
		for i := range 7 {
			body := map[string]any{"content": fmt.Sprintf("note %d\n- [ ] open task", i)}
			if i%2 == 0 {
				body = map[string]any{"content": fmt.Sprintf("note %d\n- [x] done", i), "collection_ids": []string{col}}
			}
			ids = append(ids, tc.ok("POST", "/v2/notes", body)["id"].(string))
			time.Sleep(time.Second)
		}
		// Newest updated first; pages of 3.
		var got []string
		page := ""
		for range 5 {
			q := "/v2/notes?limit=3"
			if page != "" {
				q += "&page=" + url.QueryEscape(page)
			}
			m := tc.ok("GET", q, nil)
			assert.EqualValues(t, 7+len(got)/3, m["total"], "total counts inserts made during paging")
			for _, r := range m["results"].([]any) {
				got = append(got, r.(map[string]any)["id"].(string))
				assert.Nil(t, r.(map[string]any)["content"])
			}
			np, _ := m["next_page"].(string)
			if np == "" {
				break
			}
			page = np
			// An insert during paging lands before the cursor: no repeats, no skips.
			tc.ok("POST", "/v2/notes", map[string]any{"content": "inserted"})
		}
		require.Len(t, got, 7)
		for i, id := range got {
			assert.Equal(t, ids[6-i], id)
		}

		// order_by=created_at after moving one note's creation back.
		tc.ok("PATCH", "/v2/notes/"+ids[6]+"/created-at", map[string]any{"created_at": "1990-01-01T00:00:00Z"})
		m := tc.ok("GET", "/v2/notes?order_by=created_at&limit=100&include_note_content=true", nil)
		res := m["results"].([]any)
		assert.Equal(t, ids[6], res[len(res)-1].(map[string]any)["id"])
		assert.NotNil(t, res[0].(map[string]any)["content"])

		// Filters.
		m = tc.ok("GET", "/v2/notes?collection_id="+col, nil)
		assert.EqualValues(t, 4, m["total"])
		m = tc.ok("GET", "/v2/notes?contains_open_tasks=true", nil)
		assert.EqualValues(t, 3, m["total"])
		m = tc.ok("GET", "/v2/notes?contains_open_tasks=true&contains_tasks=true", nil)
		assert.EqualValues(t, 7, m["total"])
		m = tc.ok("GET", "/v2/notes?filter_by_created_after="+url.QueryEscape("2000-01-01T00:00:02Z")+"&filter_by_created_before="+url.QueryEscape("2000-01-01T01:00:03+01:00"), nil)
		assert.EqualValues(t, 2, m["total"], "inclusive bounds: notes 2 and 3")
		m = tc.ok("GET", "/v2/notes?filter_by_updated_before=2000-01-01T00:00:00Z", nil)
		assert.EqualValues(t, 1, m["total"])

		// Trashed notes are not listed.
		tc.ok("POST", "/v2/notes/"+ids[0]+"/trash", nil)
		m = tc.ok("GET", "/v2/notes?collection_id="+col, nil)
		assert.EqualValues(t, 3, m["total"])

		// A cursor is tied to its filters.
		m = tc.ok("GET", "/v2/notes?limit=1", nil)
		tc.fail(400, ErrTypeInvalidRequest, "GET", "/v2/notes?limit=1&order_by=created_at&page="+url.QueryEscape(m["next_page"].(string)), nil)
		tc.fail(400, ErrTypeInvalidRequest, "GET", "/v2/notes?page=garbage!", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes?limit=0", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes?limit=101", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes?order_by=title", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes?contains_tasks=maybe", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes?filter_by_created_after=2000-01-01", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes?collection_id=x", nil)
		tc.checked("NoteListResponseSchema")
	})
}

func TestSearchNotesSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Limits: Limits{RequestsPerMinute: 10000, ComplexityPerMinute: 10000}})
		for i := range 120 {
			tc.ok("POST", "/v2/notes", map[string]any{"content": fmt.Sprintf("Recipe %d\nlemon pasta", i)})
		}
		tc.ok("POST", "/v2/notes", map[string]any{"content": "Lemon\nlemon lemon"})
		tc.ok("POST", "/v2/notes", map[string]any{"content": "Unrelated"})

		m := tc.ok("POST", "/v2/notes/search?limit=50", map[string]any{"query": "LEMON"})
		assert.EqualValues(t, 100, m["total"], "capped by the 100-result window")
		assert.Equal(t, true, m["has_next_page"])
		assert.EqualValues(t, 50, m["limit"])
		assert.EqualValues(t, 0, m["offset"])
		first := m["results"].([]any)[0].(map[string]any)
		assert.Equal(t, "Lemon", first["title"], "title matches rank first")
		snap := m["snapshot_id"].(string)

		// Notes created after the snapshot do not appear in its pages.
		tc.ok("POST", "/v2/notes", map[string]any{"content": "lemon lemon lemon lemon"})
		seen := map[string]bool{}
		for _, r := range m["results"].([]any) {
			seen[r.(map[string]any)["id"].(string)] = true
		}
		m = tc.ok("POST", "/v2/notes/search?limit=50&offset=50&snapshot_id="+snap, map[string]any{"query": "LEMON"})
		assert.Equal(t, false, m["has_next_page"])
		for _, r := range m["results"].([]any) {
			id := r.(map[string]any)["id"].(string)
			assert.False(t, seen[id], "no repeats across pages")
			seen[id] = true
		}
		assert.Len(t, seen, 100)
		m = tc.ok("POST", "/v2/notes/search?limit=50&offset=100&snapshot_id="+snap, map[string]any{"query": "lemon"})
		assert.Empty(t, m["results"])

		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes/search?offset=20", map[string]any{"query": "lemon"})
		tc.fail(400, ErrTypeInvalidRequest, "POST", "/v2/notes/search?offset=20&snapshot_id="+snap, map[string]any{"query": "pasta"})
		tc.fail(404, ErrTypeNotFound, "POST", "/v2/notes/search?offset=20&snapshot_id="+uuid.NewString(), map[string]any{"query": "lemon"})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes/search", map[string]any{"query": "  "})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes/search", map[string]any{})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes/search?limit=51", map[string]any{"query": "x"})

		m = tc.ok("POST", "/v2/notes/search", map[string]any{"query": "unrelated", "config": map[string]any{"include_note_content": true}})
		assert.EqualValues(t, 1, m["total"])
		assert.Equal(t, "Unrelated", m["results"].([]any)[0].(map[string]any)["content"])
		tc.checked("NoteSearchResponseSchema")
	})
}

// TestSearchRanksByScoreThenRecencyThenID: equal scores go most recently
// updated first, and equal times by id, so that pages are stable.
func TestSearchRanksByScoreThenRecencyThenID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		var ids []string
		for range 3 { // created at the same instant: tied on score and time
			ids = append(ids, tc.ok("POST", "/v2/notes", map[string]any{"content": "plain\nfig"})["id"].(string))
		}
		time.Sleep(time.Second)
		newer := tc.ok("POST", "/v2/notes", map[string]any{"content": "plain\nfig"})["id"].(string)
		best := tc.ok("POST", "/v2/notes", map[string]any{"content": "fig\nfig"})["id"].(string)
		slices.Sort(ids)
		want := append([]string{best, newer}, ids...)

		m := tc.ok("POST", "/v2/notes/search", map[string]any{"query": "fig"})
		var got []string
		for _, r := range m["results"].([]any) {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		assert.Equal(t, want, got)
	})
}

func TestRelatedNotes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		col := tc.ok("POST", "/v2/collections", map[string]any{"title": "Work", "description": "d"})["id"].(string)
		src := tc.ok("POST", "/v2/notes", map[string]any{"content": "Project Phoenix launch goals and milestones"})["id"].(string)
		near := tc.ok("POST", "/v2/notes", map[string]any{"content": "Phoenix launch milestones", "collection_ids": []string{col}})["id"].(string)
		far := tc.ok("POST", "/v2/notes", map[string]any{"content": "Phoenix recipes"})["id"].(string)
		tc.ok("POST", "/v2/notes", map[string]any{"content": "Nothing in common"})

		m := tc.ok("GET", "/v2/notes/"+src+"/related-notes", nil)
		res := m["results"].([]any)
		require.Len(t, res, 2)
		assert.EqualValues(t, 2, m["total"])
		assert.Equal(t, near, res[0].(map[string]any)["id"])
		assert.Equal(t, far, res[1].(map[string]any)["id"])
		assert.InDelta(t, 0.5, res[0].(map[string]any)["score"], 1e-9) // 3 shared of 6 words
		cols := res[0].(map[string]any)["collections"].([]any)
		require.Len(t, cols, 1)
		assert.EqualValues(t, 1, cols[0].(map[string]any)["note_count"])

		m = tc.ok("GET", "/v2/notes/"+src+"/related-notes?limit=1", nil)
		assert.Len(t, m["results"], 1)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/notes/"+src+"/related-notes?limit=21", nil)
		tc.fail(404, ErrTypeNotFound, "GET", "/v2/notes/"+uuid.NewString()+"/related-notes", nil)
		tc.checked("FindRelatedNotesResponseSchema")
	})
}

func TestAuth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Keys: []string{"alpha", "beta"}})
		tc.as("").fail(401, ErrTypeUnauthorized, "GET", "/v2/notes", nil)
		tc.as("gamma").fail(401, ErrTypeUnauthorized, "GET", "/v2/notes", nil)
		id := tc.as("alpha").ok("POST", "/v2/notes", map[string]any{"content": "mine"})["id"].(string)
		tc.as("beta").fail(404, ErrTypeNotFound, "GET", "/v2/notes/"+id, nil)
		assert.Len(t, tc.s.Notes("alpha"), 1)
		assert.Empty(t, tc.s.Notes("beta"))
		assert.Nil(t, tc.s.Notes("gamma"))
		j := tc.s.Journal()
		require.Len(t, j, 4)
		assert.Equal(t, http.StatusUnauthorized, j[0].Status)
		assert.Zero(t, j[0].RequestCost)
		assert.Equal(t, Key("alpha"), j[2].Key)
	})
}

func TestQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{Quota: Quota{Allowance: 2, Period: 48 * time.Hour, Plan: "basic"}})
		tc.ok("POST", "/v2/mem-it", map[string]any{"input": "one"})
		tc.ok("POST", "/v2/notes", map[string]any{"content": "two"})
		time.Sleep(time.Hour)
		resp, b := tc.do("POST", "/v2/notes", map[string]any{"content": "three"})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		tc.checked("UsageQuotaExceededPayload")
		e := requireEnvelope(t, b, ErrTypeQuotaExceeded)
		d := e["details"].(map[string]any)
		assert.Equal(t, "basic", d["current_plan"])
		assert.EqualValues(t, 2, d["used"])
		assert.EqualValues(t, 2, d["limit"])
		assert.Equal(t, "2000-01-03T00:00:00Z", d["reset_time"])
		assert.Equal(t, "169200", resp.Header.Get("Retry-After")) // 47 h
		assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
		assert.NotNil(t, e["upgrade_info"])
		tc.fail(429, ErrTypeQuotaExceeded, "POST", "/v2/mem-it", map[string]any{"input": "x"})
		j := tc.s.Journal()
		assert.Equal(t, ErrTypeQuotaExceeded, j[len(j)-1].Error)
		assert.Equal(t, "", j[0].Error)
		tc.ok("GET", "/v2/notes", nil) // reads are not creations
		assert.Len(t, tc.s.Notes(DefaultKey), 2)
		assert.Equal(t, 2, tc.s.Count429())

		time.Sleep(47 * time.Hour)
		tc.ok("POST", "/v2/mem-it", map[string]any{"input": "new period"})
	})
}

func TestBodyCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{MaxBodyBytes: 1024})
		tc.fail(413, ErrTypePayloadTooLarge, "POST", "/v2/notes", `{"content":"`+strings.Repeat("a", 2000)+`"}`)
		// Without a declared length, the reader stops at the cap.
		req, _ := http.NewRequest("POST", "http://mem.test/v2/notes", strings.NewReader(`{"content":"`+strings.Repeat("a", 2000)+`"}`))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+DefaultKey)
		resp, err := tc.c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 413, resp.StatusCode)
		assert.Empty(t, tc.s.Notes(DefaultKey))
	})
}

func TestFieldNamesAreCaseSensitive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/notes", map[string]any{"Content": "x"})
		m := tc.ok("POST", "/v2/notes", map[string]any{"content": "kept", "ID": uuid.NewString(), "extra": 1})
		assert.Equal(t, "kept", m["content"])
		id := m["id"].(string)
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/notes/"+id, map[string]any{"content": "x", "Version": 1})
	})
}

// TestFilterNamesAreCaseSensitive: the searches' date filters, though
// declared once for both, are matched as exactly as any other field: a
// filter spelled in another case is ignored, as the real API ignores it.
func TestFilterNamesAreCaseSensitive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		tc.ok("POST", "/v2/notes", map[string]any{"content": "kept"})
		tc.ok("POST", "/v2/collections", map[string]any{"title": "kept"})
		future := "2100-01-01T00:00:00Z"
		m := tc.ok("POST", "/v2/notes/search", map[string]any{"query": "kept", "Filter_By_Created_After": future})
		assert.Len(t, m["results"], 1, "notes")
		m = tc.ok("POST", "/v2/collections/search", map[string]any{"query": "kept", "FILTER_BY_UPDATED_AFTER": future})
		assert.Len(t, m["results"], 1, "collections")
		m = tc.ok("POST", "/v2/notes/search", map[string]any{"query": "kept", "filter_by_created_after": future})
		assert.Empty(t, m["results"], "the exact name filters")
	})
}

func TestHugeQueryIsCheap(t *testing.T) {
	tc := newClient(t, Config{})
	for range 20 {
		tc.ok("POST", "/v2/notes", map[string]any{"content": strings.Repeat("lorem ipsum ", 2000)})
	}
	start := time.Now()
	tc.ok("POST", "/v2/notes/search", map[string]any{"query": strings.Repeat("a ", 200_000)})
	tc.ok("POST", "/v2/collections/search", map[string]any{"query": strings.Repeat("b ", 200_000)})
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, []string{"a", "b"}, terms("A b a B"))
	assert.Len(t, terms(strings.Repeat("x y z w v u t s r q p o n m l k j i h ", 3)), maxTerms)
}
