package mocktest

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newClient connects a client to srv in process (no sockets: it works
// inside a synctest bubble).
func newClient(t *testing.T, srv *mock.Server) *memclient.Client {
	c, err := memclient.New(
		memclient.WithAPIKey(mock.DefaultKey),
		memclient.WithTransport(srv.RoundTripper()),
		memclient.WithBaseURL("http://mem.test"),
	)
	require.NoError(t, err)
	return c
}

func TestArchiveStoresEveryEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{}) // Mem's real limits
		entries := make([]string, 250)
		for i := range entries {
			entries[i] = fmt.Sprintf("Day %d: nothing happened.", i+1)
		}
		start := time.Now()
		colID, err := Archive(t.Context(), newClient(t, srv), "Diary", entries)
		require.NoError(t, err)

		// 251 calls: 100 at once, then one every 0.6 s, in virtual time.
		assert.Equal(t, 151*600*time.Millisecond, time.Since(start))
		assert.Zero(t, srv.Count429(), "the client stayed inside the limits")
		notes := srv.Notes(mock.DefaultKey)
		assert.Len(t, notes, 250)
		for _, n := range notes {
			assert.Equal(t, []string{colID}, n.CollectionIDs)
		}
	})
}

func TestArchiveSurvivesLostResponses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		// The second note's create is stored, but its response is lost:
		// the client retries with the same id and finds it there.
		srv.FailNext("POST", "/v2/notes", 2, mock.FaultLost)
		_, err := Archive(t.Context(), newClient(t, srv), "Diary", []string{"one", "two", "three"})
		require.NoError(t, err)
		assert.Len(t, srv.Notes(mock.DefaultKey), 3, "nothing duplicated")
	})
}

func TestArchiveReportsQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{Quota: mock.Quota{Allowance: 2}})
		_, err := Archive(t.Context(), newClient(t, srv), "Diary", []string{"one", "two", "three"})
		var quota *memclient.QuotaExceededError
		require.ErrorAs(t, err, &quota)
		assert.ErrorContains(t, err, "entry 3")
	})
}
