package memclient

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

func TestCollectionsLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()

		work, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Work", Description: "job things"})
		require.NoError(t, err)
		assert.Len(t, work.ID, 36)
		require.NotNil(t, work.Description)
		assert.Equal(t, "job things", *work.Description)
		home, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Home"})
		require.NoError(t, err)
		assert.Nil(t, home.Description)

		// A caller-given id that exists is a conflict (no ambiguity: no resolution).
		_, _, err = c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Work", ID: work.ID})
		var ce *ConflictError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, ReasonDuplicateID, ce.Reason)

		n, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "Standup\nnotes", CollectionTitles: []string{"work"}})
		require.NoError(t, err)
		assert.Equal(t, []string{work.ID}, n.CollectionIDs)

		_, err = c.Collections.AddNote(ctx, home.ID, n.ID)
		require.NoError(t, err)
		got, _, err := c.Collections.Get(ctx, home.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, got.NoteCount)

		_, err = c.Collections.RemoveNote(ctx, home.ID, n.ID)
		require.NoError(t, err)
		_, err = c.Collections.MoveNote(ctx, work.ID, n.ID, home.ID)
		require.NoError(t, err)
		gn, _, err := c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{home.ID}, gn.CollectionIDs)

		// Moving again: the note is no longer in the source.
		_, err = c.Collections.MoveNote(ctx, work.ID, n.ID, home.ID)
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, ReasonNotInSource, ce.Reason)

		title, empty := "Office", ""
		up, _, err := c.Collections.Update(ctx, work.ID, &UpdateCollectionRequest{Title: &title})
		require.NoError(t, err)
		assert.Equal(t, "Office", up.Title)
		require.NotNil(t, up.Description, "a nil Description leaves it unchanged")
		assert.Equal(t, "job things", *up.Description)
		up, _, err = c.Collections.Update(ctx, work.ID, &UpdateCollectionRequest{Description: &empty})
		require.NoError(t, err)
		assert.Equal(t, "Office", up.Title)

		res, _, err := c.Collections.Search(ctx, &SearchCollectionsRequest{Query: "office"})
		require.NoError(t, err)
		require.Len(t, res.Results, 1)
		assert.Equal(t, work.ID, res.Results[0].ID)
		all, _, err := c.Collections.Search(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, 2, all.Total)

		l, _, err := c.Collections.List(ctx, &ListCollectionsOptions{OrderBy: OrderByCreatedAt})
		require.NoError(t, err)
		assert.Equal(t, 2, l.Total)
		assert.Empty(t, l.NextPage)

		_, err = c.Collections.Delete(ctx, home.ID)
		require.NoError(t, err)
		_, _, err = c.Collections.Get(ctx, home.ID)
		var nf *NotFoundError
		require.ErrorAs(t, err, &nf)
		_, err = c.Collections.Delete(ctx, home.ID)
		require.ErrorAs(t, err, &nf, "a plain delete of a missing collection is not found")
		assert.Len(t, srv.Collections(mock.DefaultKey), 1)
		_, err = c.Collections.AddNote(ctx, home.ID, n.ID)
		require.ErrorAs(t, err, &nf)
	})
}

func TestNotesSearchAndRelated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMock(t, mock.Config{})
		ctx := t.Context()
		var first string
		for _, s := range []string{"Apple pie\nbake apple pie with cinnamon", "Apple crumble\napple cinnamon oats", "Taxes\nfile the forms"} {
			n, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: s})
			require.NoError(t, err)
			if first == "" {
				first = n.ID
			}
		}
		res, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "apple", IncludeContent: true})
		require.NoError(t, err)
		assert.Equal(t, 2, res.Total)
		assert.Len(t, res.SnapshotID, 36)
		require.NotNil(t, res.Results[0].Content)
		assert.False(t, res.HasNextPage)

		rel, _, err := c.Notes.Related(ctx, first, 5)
		require.NoError(t, err)
		require.NotEmpty(t, rel.Results)
		assert.Equal(t, "Apple crumble", rel.Results[0].Title)
		require.NotNil(t, rel.Results[0].Score)
	})
}

// TestSearchReachesAtMostMaxSearchResults checks what Search and SearchAll
// document: a search reaches the best MaxSearchResults matches and caps its
// Total there, SearchAll ends there without an error, and Notes.All lists
// every note.
func TestSearchReachesAtMostMaxSearchResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMock(t, mock.Config{})
		ctx := t.Context()
		const notes = MaxSearchResults + 20
		for i := range notes {
			_, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: fmt.Sprintf("Lemon %d\nlemon tart", i)})
			require.NoError(t, err)
		}
		res, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "lemon", Limit: MaxSearchLimit})
		require.NoError(t, err)
		assert.Equal(t, MaxSearchResults, res.Total, "Total is capped")

		found := 0
		for _, err := range c.Notes.SearchAll(ctx, &SearchNotesRequest{Query: "lemon", Limit: MaxSearchLimit}) {
			require.NoError(t, err)
			found++
		}
		assert.Equal(t, MaxSearchResults, found)

		listed := 0
		for _, err := range c.Notes.All(ctx, &ListNotesOptions{Limit: MaxListLimit}) {
			require.NoError(t, err)
			listed++
		}
		assert.Equal(t, notes, listed)
	})
}
