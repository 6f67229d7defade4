// Package mocktest shows how to test your own code that calls Mem: run it
// against the mock in process, inside testing/synctest, so that Mem's limits
// apply in virtual time and a test of minutes of traffic takes milliseconds.
// See archive_test.go; run it with "go test -v ./examples/mocktest".
package mocktest

import (
	"context"
	"fmt"

	"github.com/memsdk/mem-go/memclient"
)

// Archive is the code under test: it saves each entry of a diary as a note
// in a collection, creating the collection first.
func Archive(ctx context.Context, c *memclient.Client, diary string, entries []string) (collectionID string, err error) {
	col, _, err := c.Collections.Create(ctx, &memclient.CreateCollectionRequest{Title: diary})
	if err != nil {
		return "", fmt.Errorf("creating %q: %w", diary, err)
	}
	for i, e := range entries {
		_, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{
			Content:       fmt.Sprintf("%s, entry %d\n\n%s", diary, i+1, e),
			CollectionIDs: []string{col.ID},
		})
		if err != nil {
			return col.ID, fmt.Errorf("entry %d: %w", i+1, err)
		}
	}
	return col.ID, nil
}
