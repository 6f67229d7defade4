package memclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

func TestLostResponsesOnWritesAreResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()

		srv.FailNext("POST", "/v2/notes", 1, mock.FaultLost)
		n, resp, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "Once\nonly"})
		require.NoError(t, err)
		assert.Equal(t, "Once", n.Title)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1, "exactly one note")
		assert.Equal(t, 200, resp.StatusCode)

		// A caller-given id behaves the same.
		id := "0b6f4a8e-1c2d-4e3f-9a0b-1c2d3e4f5a6b"
		srv.FailNext("POST", "/v2/notes", 2, mock.FaultLost)
		n2, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "Mine", ID: id})
		require.NoError(t, err)
		assert.Equal(t, id, n2.ID)
		assert.Len(t, srv.Notes(mock.DefaultKey), 2)

		srv.FailNext("POST", "/v2/collections", 1, mock.FaultLost)
		col, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Inbox", Description: "d"})
		require.NoError(t, err)
		assert.Equal(t, "Inbox", col.Title)
		assert.Len(t, srv.Collections(mock.DefaultKey), 1)
		col2, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Later"})
		require.NoError(t, err)

		srv.FailNext("PATCH", "/v2/notes/{note_id}", 1, mock.FaultLost)
		up, _, err := c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "Twice\nedited", Version: n.Version})
		require.NoError(t, err)
		assert.Equal(t, "Twice", up.Title)
		assert.Equal(t, int64(2), up.Version)

		_, err = c.Collections.AddNote(ctx, col.ID, n.ID)
		require.NoError(t, err)
		srv.FailNext("POST", "/v2/collections/{source_collection_id}/notes/{note_id}/move", 1, mock.FaultLost)
		_, err = c.Collections.MoveNote(ctx, col.ID, n.ID, col2.ID)
		require.NoError(t, err)

		srv.FailNext("DELETE", "/v2/notes/{note_id}", 1, mock.FaultLost)
		_, err = c.Notes.Delete(ctx, n2.ID)
		require.NoError(t, err)
		srv.FailNext("DELETE", "/v2/collections/{collection_id}", 1, mock.FaultLost)
		_, err = c.Collections.Delete(ctx, col.ID)
		require.NoError(t, err)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1)
		assert.Len(t, srv.Collections(mock.DefaultKey), 1)

		// Reads, resets and server errors are retried.
		srv.FailNext("GET", "/v2/notes/{note_id}", 1, mock.FaultReset)
		_, resp, err = c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		assert.Equal(t, 2, resp.Attempts)
		srv.FailNext("GET", "/v2/notes/{note_id}", 2, mock.FaultServerError)
		_, resp, err = c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts)
	})
}

func TestRandomLostResponsesCreateExactlyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{Faults: mock.Faults{LostRate: 0.3, ErrorRate: 0.1}, Seed: 7}, WithRetryMax(10))
		const n = 150
		for i := range n {
			_, _, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: fmt.Sprintf("Note %d", i)})
			require.NoError(t, err, "create %d", i)
		}
		notes := srv.Notes(mock.DefaultKey)
		require.Len(t, notes, n)
		seen := map[string]bool{}
		for _, nt := range notes {
			assert.False(t, seen[nt.Content], "duplicate %q", nt.Content)
			seen[nt.Content] = true
		}
	})
}

func TestMemItOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()

		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultLost)
		_, _, err := c.MemIt(ctx, &MemItRequest{Input: "meeting notes"})
		var ou *OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Equal(t, "POST /v2/mem-it", ou.Op)
		assert.ErrorIs(t, err, syscall.ECONNRESET)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1, "it was processed, once")

		// A reset is ambiguous too (in general a reset may follow the send).
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultReset)
		_, _, err = c.MemIt(ctx, &MemItRequest{Input: "again"})
		require.ErrorAs(t, err, &ou)

		// A rate-limit 429 was not processed: retried.
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultRateLimit)
		_, resp, err := c.MemIt(ctx, &MemItRequest{Input: "third"})
		require.NoError(t, err)
		assert.Equal(t, 2, resp.Attempts)

		// At-least-once: retried after a lost response, so captured twice.
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultLost)
		_, _, err = c.MemIt(ctx, &MemItRequest{Input: "twice", AtLeastOnce: true})
		require.NoError(t, err)
		count := 0
		for _, nt := range srv.Notes(mock.DefaultKey) {
			if nt.Content == "twice" {
				count++
			}
		}
		assert.Equal(t, 2, count)
	})
}

func TestMemItRetriedWhenNeverSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		refused := 2
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			if refused > 0 {
				refused--
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}
			return srv.RoundTripper().RoundTrip(r)
		})
		c := newClientFor(t, srv, WithTransport(rt))
		_, resp, err := c.MemIt(t.Context(), &MemItRequest{Input: "x"})
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1)
		assert.True(t, neverSent(fmt.Errorf("wrapped: %w", &net.OpError{Op: "dial", Err: errors.New("x")})))
		assert.False(t, neverSent(&mock.InjectedError{Fault: mock.FaultReset}))
	})
}
