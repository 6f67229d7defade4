package memclient

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

func TestPaginationAcross260Notes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()
		const total = 260
		want := map[string]bool{}
		for i := range total {
			n, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: fmt.Sprintf("Note %d\nsearchable item %d", i, i)})
			require.NoError(t, err)
			want[n.ID] = true
		}

		// All notes, 100 a page: 3 pages.
		before := len(srv.Journal())
		seen := map[string]bool{}
		for n, err := range c.Notes.All(ctx, &ListNotesOptions{Limit: MaxListLimit}) {
			require.NoError(t, err)
			require.False(t, seen[n.ID], "note %s twice", n.ID)
			seen[n.ID] = true
		}
		assert.Equal(t, want, seen)
		assert.Equal(t, 3, len(srv.Journal())-before, "one call per page")

		// Default page size, created order.
		count := 0
		for _, err := range c.Notes.All(ctx, &ListNotesOptions{OrderBy: OrderByCreatedAt}) {
			require.NoError(t, err)
			count++
		}
		assert.Equal(t, total, count)

		// Breaking out stops fetching.
		before = len(srv.Journal())
		count = 0
		for _, err := range c.Notes.All(ctx, &ListNotesOptions{Limit: 10}) {
			require.NoError(t, err)
			count++
			if count == 15 {
				break
			}
		}
		assert.Equal(t, 15, count)
		assert.Equal(t, 2, len(srv.Journal())-before)

		// Search pages through one snapshot; its window holds 100 results.
		count = 0
		for _, err := range c.Notes.SearchAll(ctx, &SearchNotesRequest{Query: "searchable", Limit: 30}) {
			require.NoError(t, err)
			count++
		}
		assert.Equal(t, 100, count)

		// An error ends the iteration after being yielded once.
		errs := 0
		for _, err := range c.Notes.All(ctx, &ListNotesOptions{Page: "not-a-cursor"}) {
			require.Error(t, err)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			errs++
		}
		assert.Equal(t, 1, errs)
	})
}

func TestCollectionsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMock(t, mock.Config{})
		ctx := t.Context()
		for i := range 120 {
			_, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: fmt.Sprintf("C%d", i)})
			require.NoError(t, err)
		}
		count := 0
		for _, err := range c.Collections.All(ctx, &ListCollectionsOptions{Limit: 50}) {
			require.NoError(t, err)
			count++
		}
		assert.Equal(t, 120, count)
	})
}
