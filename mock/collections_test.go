package mock

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCollectionsCRUD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		id := uuid.NewString()
		m := tc.ok("POST", "/v2/collections", map[string]any{"id": id, "title": "Work", "created_at": "1999-01-01T00:00:00Z"})
		assert.Equal(t, id, m["id"])
		assert.Nil(t, m["description"])
		assert.Equal(t, "1999-01-01T00:00:00.000Z", m["created_at"])
		assert.Equal(t, "2000-01-01T00:00:00.000Z", m["updated_at"])
		tc.fail(409, ErrTypeConflict, "POST", "/v2/collections", map[string]any{"id": id, "title": "again"})

		g := tc.ok("GET", "/v2/collections/"+id, nil)
		assert.EqualValues(t, 0, g["note_count"])

		time.Sleep(time.Second)
		m = tc.ok("PATCH", "/v2/collections/"+id, map[string]any{"description": "Projects"})
		assert.Equal(t, "Work", m["title"], "omitted fields are unchanged")
		assert.Equal(t, "Projects", m["description"])
		assert.Equal(t, "2000-01-01T00:00:01.000Z", m["updated_at"])
		m = tc.ok("PATCH", "/v2/collections/"+id, map[string]any{"title": "Work 2", "description": nil})
		assert.Equal(t, "Work 2", m["title"])
		assert.Nil(t, m["description"])
		tc.ok("PATCH", "/v2/collections/"+id, map[string]any{"description": "again"})
		m = tc.ok("PATCH", "/v2/collections/"+id, map[string]any{"description": ""})
		assert.Nil(t, m["description"], "the spec: an empty string clears the description")
		m = tc.ok("PATCH", "/v2/collections/"+id, map[string]any{})
		assert.Equal(t, "Work 2", m["title"])

		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections", map[string]any{})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections", map[string]any{"title": strings.Repeat("t", 1001)})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections", map[string]any{"title": strings.Repeat("é", 501)}) // 1002 bytes
		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections", map[string]any{"title": "t", "description": strings.Repeat("d", 10001)})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections", map[string]any{"title": "t", "id": "x"})
		tc.fail(422, ErrTypeValidation, "PATCH", "/v2/collections/"+id, map[string]any{"title": 3})
		tc.fail(404, ErrTypeNotFound, "PATCH", "/v2/collections/"+uuid.NewString(), map[string]any{})
		tc.fail(404, ErrTypeNotFound, "GET", "/v2/collections/"+uuid.NewString(), nil)

		tc.ok("DELETE", "/v2/collections/"+id, nil)
		tc.fail(404, ErrTypeNotFound, "GET", "/v2/collections/"+id, nil)
		assert.Len(t, tc.s.Collections(DefaultKey), 0)
		tc.checked("CreateCollectionResponseSchema", "ReadCollectionResponseSchema", "UpdateCollectionResponseSchema", "DeleteCollectionResponseSchema")
	})
}

func TestCollectionMembershipAndMove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		a := tc.ok("POST", "/v2/collections", map[string]any{"title": "A"})["id"].(string)
		b := tc.ok("POST", "/v2/collections", map[string]any{"title": "B"})["id"].(string)
		n := tc.ok("POST", "/v2/notes", map[string]any{"content": "n"})["id"].(string)
		count := func(c string) any { return tc.ok("GET", "/v2/collections/"+c, nil)["note_count"] }

		tc.ok("PUT", "/v2/collections/"+a+"/notes/"+n, nil)
		tc.ok("PUT", "/v2/collections/"+a+"/notes/"+n, nil) // idempotent
		assert.EqualValues(t, 1, count(a))
		assert.Equal(t, []any{a}, tc.ok("GET", "/v2/notes/"+n, nil)["collection_ids"])

		tc.ok("POST", "/v2/collections/"+a+"/notes/"+n+"/move", map[string]any{"target_collection_id": b})
		assert.EqualValues(t, 0, count(a))
		assert.EqualValues(t, 1, count(b))
		assert.Equal(t, []any{b}, tc.ok("GET", "/v2/notes/"+n, nil)["collection_ids"])
		tc.fail(409, ErrTypeConflict, "POST", "/v2/collections/"+a+"/notes/"+n+"/move", map[string]any{"target_collection_id": b})
		tc.fail(404, ErrTypeNotFound, "POST", "/v2/collections/"+b+"/notes/"+n+"/move", map[string]any{"target_collection_id": uuid.NewString()})
		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections/"+b+"/notes/"+n+"/move", map[string]any{})

		// Trashed notes do not count and cannot be added.
		tc.ok("POST", "/v2/notes/"+n+"/trash", nil)
		assert.EqualValues(t, 0, count(b))
		tc.fail(409, ErrTypeConflict, "PUT", "/v2/collections/"+a+"/notes/"+n, nil)
		tc.ok("POST", "/v2/notes/"+n+"/restore", nil)
		assert.EqualValues(t, 1, count(b))

		tc.ok("DELETE", "/v2/collections/"+b+"/notes/"+n, nil)
		tc.ok("DELETE", "/v2/collections/"+b+"/notes/"+n, nil) // idempotent
		assert.EqualValues(t, 0, count(b))
		tc.fail(404, ErrTypeNotFound, "DELETE", "/v2/collections/"+b+"/notes/"+uuid.NewString(), nil)
		tc.fail(404, ErrTypeNotFound, "PUT", "/v2/collections/"+uuid.NewString()+"/notes/"+n, nil)

		// Deleting a collection unlinks its notes; deleting a note leaves
		// the collection's count right.
		tc.ok("PUT", "/v2/collections/"+a+"/notes/"+n, nil)
		tc.ok("DELETE", "/v2/collections/"+a, nil)
		assert.Equal(t, []any{}, tc.ok("GET", "/v2/notes/"+n, nil)["collection_ids"])
		tc.ok("PUT", "/v2/collections/"+b+"/notes/"+n, nil)
		tc.ok("DELETE", "/v2/notes/"+n, nil)
		assert.EqualValues(t, 0, count(b))
		tc.checked("AddNoteToCollectionResponseSchema", "RemoveNoteFromCollectionResponseSchema", "MoveNoteResponseSchema")
	})
}

func TestListAndSearchCollections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := newClient(t, Config{})
		var ids []string
		for _, title := range []string{"Acme Corp", "Project Phoenix", "Recipes", "acme archive"} {
			ids = append(ids, tc.ok("POST", "/v2/collections", map[string]any{"title": title, "description": "about " + title})["id"].(string))
			time.Sleep(time.Second)
		}
		m := tc.ok("GET", "/v2/collections?limit=3", nil)
		assert.EqualValues(t, 4, m["total"])
		res := m["results"].([]any)
		require.Len(t, res, 3)
		assert.Equal(t, ids[3], res[0].(map[string]any)["id"])
		m = tc.ok("GET", "/v2/collections?limit=3&page="+m["next_page"].(string), nil)
		assert.Equal(t, ids[0], m["results"].([]any)[0].(map[string]any)["id"])
		assert.Nil(t, m["next_page"])
		m = tc.ok("GET", "/v2/collections?filter_by_created_after=2000-01-01T00:00:02Z", nil)
		assert.EqualValues(t, 2, m["total"])
		tc.fail(422, ErrTypeValidation, "GET", "/v2/collections?limit=500", nil)
		tc.fail(422, ErrTypeValidation, "GET", "/v2/collections?order_by=x", nil)

		m = tc.ok("POST", "/v2/collections/search", map[string]any{"query": "ACME"})
		assert.EqualValues(t, 2, m["total"])
		m = tc.ok("POST", "/v2/collections/search", map[string]any{})
		assert.EqualValues(t, 4, m["total"])
		m = tc.ok("POST", "/v2/collections/search", nil)
		assert.EqualValues(t, 4, m["total"])
		m = tc.ok("POST", "/v2/collections/search", map[string]any{"query": "phoenix", "filter_by_updated_before": "2000-01-01T00:00:00Z"})
		assert.EqualValues(t, 0, m["total"])
		tc.fail(422, ErrTypeValidation, "POST", "/v2/collections/search", map[string]any{"filter_by_updated_before": "soon"})
		tc.checked("CollectionListResponseSchema", "CollectionSearchResponseSchema")
	})
}
