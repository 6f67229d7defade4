// Batch import with the library: every Markdown and text file under a folder
// becomes a note, eight at a time, at the highest rate the limits allow, with
// progress and an ETA from the throttle's estimator (the exact bucket math
// from the current levels, not an average of past calls).
//
// Each note's id is derived from its file name, so running it twice (or
// retrying after a crash) cannot create a document twice: the second create
// gets a 409, which this program counts as "already there". The mem command
// (cmd/mem import) does all of this with a journal, a progress bar and more.
//
//	go run ./examples/batchimport [FOLDER]   # default: examples/docs
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/memsdk/mem-go/examples/internal/demo"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

// namespace scopes the ids derived from file names.
var namespace = uuid.MustParse("0b7e4e8e-3f0a-4a4e-9d8f-2d5b1f6c9a10")

func main() {
	dir := "examples/docs"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".txt")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	what := fmt.Sprintf("up to %d notes (one per .md or .txt file under %s; ids derive from the paths, so a second run creates none)", len(files), dir)
	if err := demo.Begin("batchimport", what); err != nil {
		log.Fatal(err)
	}
	c, _, err := demo.Client()
	if err != nil {
		log.Fatal(err)
	}
	th := c.Throttle()
	noteCost := th.Cost("POST", "/v2/notes")
	fmt.Printf("%d files (.md and .txt); at best %s from full buckets\n", len(files), th.Policy().Optimum(throttle.Calls{N: len(files), Cost: noteCost}))

	ctx := context.Background()
	start := time.Now()
	var created, already, failed, done atomic.Int64
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for path := range jobs {
				err := importFile(ctx, c, path)
				var conflict *memclient.ConflictError
				switch {
				case err == nil:
					created.Add(1)
				case errors.As(err, &conflict) && conflict.Reason == memclient.ReasonDuplicateID:
					already.Add(1)
				default:
					failed.Add(1)
					log.Printf("%s: %v", path, err)
				}
				n := done.Add(1)
				eta := th.Estimate(throttle.Calls{N: len(files) - int(n), Cost: noteCost})
				fmt.Printf("\r%d/%d done, ETA %s   ", n, len(files), eta.Round(100*time.Millisecond))
			}
		})
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	s := th.Snapshot().Stats
	fmt.Printf("\ncreated %d, already there %d, failed %d in %s; waited on limits %s; 429s %d\n",
		created.Load(), already.Load(), failed.Load(), time.Since(start).Round(time.Millisecond), s.WaitTime.Round(time.Millisecond), s.RateLimited)
}

func importFile(ctx context.Context, c *memclient.Client, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, _, err = c.Notes.Create(ctx, &memclient.CreateNoteRequest{
		ID:      uuid.NewSHA1(namespace, []byte(filepath.ToSlash(path))).String(),
		Content: string(data),
	})
	return err
}
