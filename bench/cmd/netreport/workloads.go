package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// workload is one row group of the table: run sends its calls to the mock at
// baseURL; tag is unique to the cell (for file names and content).
type workload struct {
	name string
	run  func(ctx context.Context, baseURL, tag string) error
}

func workloads(memBin, dir string) []workload {
	var ws []workload
	for _, n := range []int{7, 20} {
		for _, c := range []int{4, 8} {
			ws = append(ws, workload{fmt.Sprintf("cli-%d-mem-it-c%d", n, c), func(ctx context.Context, url, tag string) error {
				return cliImport(ctx, memBin, filepath.Join(dir, tag), url, n, c)
			}})
		}
	}
	for _, n := range []int{7, 20} {
		ws = append(ws, workload{fmt.Sprintf("sdk-%d-mem-it-c8", n), func(ctx context.Context, url, tag string) error {
			return sdkTasks(ctx, url, 8, memIts(tag, n))
		}})
	}
	ws = append(ws,
		workload{"sdk-W2-150-notes-c16", func(ctx context.Context, url, tag string) error {
			return sdkTasks(ctx, url, 16, creates(tag, 150))
		}},
		workload{"sdk-W3-6-mem-it+120-c32", func(ctx context.Context, url, tag string) error {
			return sdkTasks(ctx, url, 32, mixed(tag, 6, 30))
		}},
	)
	return ws
}

// cliImport writes n documents under dir and imports them with the CLI.
func cliImport(ctx context.Context, memBin, dir, url string, n, concurrency int) error {
	docs := filepath.Join(dir, "docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		return err
	}
	for i := range n {
		body := fmt.Sprintf("# %s document %d\n\nGenerated for the network report.\n", filepath.Base(dir), i)
		if err := os.WriteFile(filepath.Join(docs, fmt.Sprintf("doc-%02d.md", i)), []byte(body), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, memBin, "import", "--via", "mem-it", "--concurrency", fmt.Sprint(concurrency),
		"--base-url", url, "--journal", filepath.Join(dir, "journal"), docs)
	cmd.Env = append(os.Environ(), memclient.EnvAPIKey+"="+mock.DefaultKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tail := stderr.Bytes()
		if len(tail) > 400 {
			tail = tail[len(tail)-400:]
		}
		return fmt.Errorf("mem import: %v: %s", err, tail)
	}
	return nil
}

// task is one unit of memclient work.
type task func(ctx context.Context, c *memclient.Client) error

func memIts(tag string, n int) []task {
	ts := make([]task, n)
	for i := range ts {
		input := fmt.Sprintf("%s mem-it %d\ncaptured text", tag, i)
		ts[i] = func(ctx context.Context, c *memclient.Client) error {
			_, _, err := c.MemIt(ctx, &memclient.MemItRequest{Input: input})
			return err
		}
	}
	return ts
}

func creates(tag string, n int) []task {
	ts := make([]task, n)
	for i := range ts {
		content := fmt.Sprintf("%s note %d\nbody", tag, i)
		ts[i] = func(ctx context.Context, c *memclient.Client) error {
			_, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{ID: uuid.NewString(), Content: content})
			return err
		}
	}
	return ts
}

// chain is W3's unit: create, get, update, list.
func chain(tag string, i int) task {
	return func(ctx context.Context, c *memclient.Client) error {
		n, _, err := c.Notes.Create(ctx, &memclient.CreateNoteRequest{ID: uuid.NewString(), Content: fmt.Sprintf("%s chain %d\nfirst", tag, i)})
		if err != nil {
			return err
		}
		_, _, gerr := c.Notes.Get(ctx, n.ID)
		_, _, uerr := c.Notes.Update(ctx, n.ID, &memclient.UpdateNoteRequest{Content: fmt.Sprintf("%s chain %d\nsecond", tag, i), Version: n.Version})
		_, _, lerr := c.Notes.List(ctx, &memclient.ListNotesOptions{Limit: 10})
		return errors.Join(gerr, uerr, lerr)
	}
}

// mixed spreads m mem-it calls evenly among c chains, as W3 does.
func mixed(tag string, m, c int) []task {
	mi := memIts(tag, m)
	ts := make([]task, 0, m+c)
	for i := range c {
		for len(mi) > 0 && len(ts)*m >= (m-len(mi))*(m+c) {
			ts, mi = append(ts, mi[0]), mi[1:]
		}
		ts = append(ts, chain(tag, i))
	}
	return append(ts, mi...)
}

// sdkTasks runs tasks from goroutines on one memclient with its defaults
// (its own throttle, http.DefaultTransport).
func sdkTasks(ctx context.Context, url string, goroutines int, tasks []task) error {
	c, err := memclient.New(memclient.WithAPIKey(mock.DefaultKey), memclient.WithBaseURL(url))
	if err != nil {
		return err
	}
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) {
					return
				}
				if err := tasks[i](ctx, c); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d calls failed, the first: %w", len(errs), errs[0])
	}
	return nil
}

// optimum is the shortest time in which any client has memIt mem-it calls
// and one other calls admitted from full buckets: Policy.Optimum, the best
// of a few orders for a mixed plan (mem-it first, last, spread evenly, a
// burst of them first and the rest spread), as the bench package computes it.
func optimum(memIt, one int) time.Duration {
	pol := throttle.DefaultPolicy()
	memItCost := throttle.Cost{Requests: 1, Complexity: throttle.MemItComplexity}
	oneCost := throttle.Cost{Requests: 1, Complexity: 1}
	if memIt == 0 || one == 0 {
		return pol.Optimum(throttle.Calls{N: memIt, Cost: memItCost}, throttle.Calls{N: one, Cost: oneCost})
	}
	n := memIt + one
	burst := int(throttle.ComplexityPerMinute / throttle.MemItComplexity)
	best := time.Duration(math.MaxInt64)
	for _, lead := range []int{-1, n, 0, min(burst, memIt)} { // -1: all mem-it last
		plan := make([]throttle.Calls, 0, n)
		m, o := 0, 0
		for i := range n {
			isMemIt := false
			switch {
			case lead == -1:
				isMemIt = o == one
			case i < lead:
				isMemIt = true
			default:
				rest, j := memIt-min(lead, memIt), i-lead
				isMemIt = rest > 0 && j*rest/(n-lead) != (j+1)*rest/(n-lead)
			}
			if (isMemIt && m < memIt) || o == one {
				plan, m = append(plan, throttle.Calls{N: 1, Cost: memItCost}), m+1
			} else {
				plan, o = append(plan, throttle.Calls{N: 1, Cost: oneCost}), o+1
			}
		}
		best = min(best, pol.Optimum(plan...))
	}
	return best
}
