package memclient

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

func TestNotesLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()

		n, resp, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "Groceries\n- [ ] milk"})
		require.NoError(t, err)
		assert.Equal(t, "Groceries", n.Title)
		assert.Len(t, n.ID, 36)
		assert.Equal(t, int64(1), n.Version)
		assert.Equal(t, 200, resp.StatusCode)
		assert.NotEmpty(t, resp.RequestID)
		assert.True(t, resp.Rate.Requests.Present())
		assert.Equal(t, 1, resp.Attempts)

		got, _, err := c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		assert.Equal(t, n.Content, got.Content)
		assert.Nil(t, got.TrashedAt)

		up, _, err := c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "Shopping\n- [x] milk", Version: got.Version})
		require.NoError(t, err)
		assert.Equal(t, "Shopping", up.Title)
		assert.Equal(t, int64(2), up.Version)

		_, _, err = c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "stale", Version: 1})
		var ce *ConflictError
		require.ErrorAs(t, err, &ce)

		// An empty Content is allowed (unlike Create) and empties the note,
		// title included, as Update's doc warns.
		empty, _, err := c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "", Version: up.Version})
		require.NoError(t, err)
		assert.Empty(t, empty.Content)
		assert.Empty(t, empty.Title)
		up, _, err = c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "Shopping\n- [x] milk", Version: empty.Version})
		require.NoError(t, err)

		_, _, err = c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "stale", Version: 1})
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, ReasonVersionConflict, ce.Reason)
		assert.Equal(t, up.Version, ce.CurrentVersion)

		_, err = c.Notes.Trash(ctx, n.ID)
		require.NoError(t, err)
		got, _, err = c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		require.NotNil(t, got.TrashedAt)
		_, _, err = c.Notes.SetCreatedAt(ctx, n.ID, time.Now().Add(-time.Hour))
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, ReasonTrashed, ce.Reason)
		_, err = c.Notes.Restore(ctx, n.ID)
		require.NoError(t, err)

		back := time.Date(1999, 6, 7, 9, 0, 0, 0, time.FixedZone("CET", 3600))
		sc, _, err := c.Notes.SetCreatedAt(ctx, n.ID, back)
		require.NoError(t, err)
		assert.True(t, sc.CreatedAt.Equal(back), "%v", sc.CreatedAt)

		_, err = c.Notes.Delete(ctx, n.ID)
		require.NoError(t, err)
		_, _, err = c.Notes.Get(ctx, n.ID)
		var nf *NotFoundError
		require.ErrorAs(t, err, &nf)
		var api *APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, 404, api.StatusCode)
		assert.Equal(t, ErrTypeNotFound, api.Type)
		assert.NotEmpty(t, api.RequestID)
		assert.Empty(t, srv.Notes(mock.DefaultKey))
	})
}
