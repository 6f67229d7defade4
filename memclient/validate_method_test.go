package memclient

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidateIsTheCallsCheck: for each bad request, the request's
// Validate returns the error the call returns (same Field and Problem), the
// call sends nothing and spends no token, and Validate itself needs no
// client. A good request passes Validate and the call sends it.
func TestValidateIsTheCallsCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, calls := recordedClient(t, 200, nil, `{}`)
		ctx := t.Context()
		future := time.Now().Add(time.Minute)
		long := func(n int) string { return strings.Repeat("a", n) }
		empty := ""
		year0 := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)

		type validatable interface{ Validate() error }
		type vcase struct {
			v    validatable
			call func() error
		}
		memIt := func(r *MemItRequest) vcase {
			return vcase{r, func() error { _, _, err := c.MemIt(ctx, r); return err }}
		}
		createNote := func(r *CreateNoteRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Notes.Create(ctx, r); return err }}
		}
		updateNote := func(r *UpdateNoteRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Notes.Update(ctx, noteID, r); return err }}
		}
		listNotes := func(o *ListNotesOptions) vcase {
			return vcase{o, func() error { _, _, err := c.Notes.List(ctx, o); return err }}
		}
		searchNotes := func(r *SearchNotesRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Notes.Search(ctx, r); return err }}
		}
		createCol := func(r *CreateCollectionRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Collections.Create(ctx, r); return err }}
		}
		updateCol := func(r *UpdateCollectionRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Collections.Update(ctx, noteID, r); return err }}
		}
		listCols := func(o *ListCollectionsOptions) vcase {
			return vcase{o, func() error { _, _, err := c.Collections.List(ctx, o); return err }}
		}
		searchCols := func(r *SearchCollectionsRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Collections.Search(ctx, r); return err }}
		}
		bad := map[string]vcase{
			"memit nil":            memIt(nil),
			"memit empty":          memIt(&MemItRequest{Input: " "}),
			"memit bad utf8":       memIt(&MemItRequest{Input: "a\xffb"}),
			"memit instructions":   memIt(&MemItRequest{Input: "x", Instructions: long(MaxMemItInstructions + 1)}),
			"memit context utf8":   memIt(&MemItRequest{Input: "x", Context: "\xc3"}),
			"memit future":         memIt(&MemItRequest{Input: "x", Timestamp: future}),
			"memit year 0":         memIt(&MemItRequest{Input: "x", Timestamp: year0}),
			"create nil":           createNote(nil),
			"create chars":         createNote(&CreateNoteRequest{Content: long(MaxNoteContent + 1)}),
			"create bytes":         createNote(&CreateNoteRequest{Content: strings.Repeat("€", MaxNoteContent)}),
			"create id form":       createNote(&CreateNoteRequest{Content: "x", ID: "{" + noteID + "}"}),
			"create collection id": createNote(&CreateNoteRequest{Content: "x", CollectionIDs: []string{"x"}}),
			"create title":         createNote(&CreateNoteRequest{Content: "x", CollectionTitles: []string{long(MaxCollectionTitle + 1)}}),
			"create updated_at":    createNote(&CreateNoteRequest{Content: "x", UpdatedAt: future}),
			"update nil":           updateNote(nil),
			"update version":       updateNote(&UpdateNoteRequest{Content: "x"}),
			"update content":       updateNote(&UpdateNoteRequest{Content: long(MaxNoteContent + 1), Version: 1}),
			"update future":        updateNote(&UpdateNoteRequest{Content: "x", Version: 2, UpdatedAt: future}),
			"list limit":           listNotes(&ListNotesOptions{Limit: MaxListLimit + 1}),
			"list order":           listNotes(&ListNotesOptions{OrderBy: "title"}),
			"list collection":      listNotes(&ListNotesOptions{CollectionID: "x"}),
			"list bound":           listNotes(&ListNotesOptions{UpdatedBefore: year0}),
			"search nil":           searchNotes(nil),
			"search query":         searchNotes(&SearchNotesRequest{}),
			"search offset":        searchNotes(&SearchNotesRequest{Query: "q", Offset: -1}),
			"search snapshot":      searchNotes(&SearchNotesRequest{Query: "q", Offset: 20}),
			"search bound":         searchNotes(&SearchNotesRequest{Query: "q", CreatedBefore: year0}),
			"collection nil":       createCol(nil),
			"collection title":     createCol(&CreateCollectionRequest{Title: " "}),
			"collection desc":      createCol(&CreateCollectionRequest{Title: "t", Description: long(MaxCollectionDesc + 1)}),
			"collection future":    createCol(&CreateCollectionRequest{Title: "t", CreatedAt: future}),
			"col update nil":       updateCol(nil),
			"col update title":     updateCol(&UpdateCollectionRequest{Title: &empty}),
			"col update future":    updateCol(&UpdateCollectionRequest{UpdatedAt: future}),
			"col list order":       listCols(&ListCollectionsOptions{OrderBy: "x"}),
			"col list bound":       listCols(&ListCollectionsOptions{CreatedAfter: year0}),
			"col search bound":     searchCols(&SearchCollectionsRequest{UpdatedAfter: year0}),
		}
		for name, tc := range bad {
			verr := tc.v.Validate()
			var want *ValidationError
			require.ErrorAs(t, verr, &want, name)
			assert.Nil(t, want.API, name)
			assert.NotEmpty(t, want.Problem, name)

			var got *ValidationError
			require.ErrorAs(t, tc.call(), &got, name)
			assert.Equal(t, want.Field, got.Field, name)
			assert.Equal(t, want.Problem, got.Problem, name)
			assert.Nil(t, got.API, name)
		}
		assert.Zero(t, *calls, "nothing was sent")
		assert.Zero(t, c.Throttle().Snapshot().Stats.Admitted, "no token spent")

		// Good requests pass Validate, and the calls send them.
		good := []vcase{
			memIt(&MemItRequest{Input: "x", Instructions: long(MaxMemItInstructions)}),
			createNote(&CreateNoteRequest{Content: long(MaxNoteContent), ID: noteID}),
			listNotes(nil),
			searchCols(nil),
		}
		for i, tc := range good {
			require.NoError(t, tc.v.Validate(), i)
			require.NoError(t, tc.call(), i)
		}
		assert.Equal(t, len(good), *calls)
	})
}
