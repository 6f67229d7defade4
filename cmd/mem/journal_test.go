package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/internal/cputime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkJournalRecord measures what a record costs the process in CPU
// (cpu-µs/record: user and system time, fsync included) and the fsyncs it
// takes, with 1, 4 (the import's default --concurrency) and 8 writers
// recording at once, as the import's workers do.
func BenchmarkJournalRecord(b *testing.B) {
	for _, writers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			j, err := holdJournal(filepath.Join(b.TempDir(), "j"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			f := &countedSyncs{f: j.f}
			j.out = newGroupCommit(f)
			var next atomic.Int64
			var wg sync.WaitGroup
			cpu := cputime.Process(b)
			b.ResetTimer()
			for range writers {
				wg.Go(func() {
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						e := journalEntry{Key: fmt.Sprintf("docs/note-%d.md#%x", n, n), Outcome: outcomeDone, Via: viaNotes, NoteID: noteID(fmt.Sprint(n)), At: time.Now()}
						if err := j.Record(e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(cputime.Process(b)-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/record")
			b.ReportMetric(float64(f.syncs.Load())/float64(b.N), "fsyncs/record")
		})
	}
}

// countedSyncs is a file that counts its fsyncs.
type countedSyncs struct {
	f     *os.File
	syncs atomic.Int64
}

func (c *countedSyncs) Write(p []byte) (int, error) { return c.f.Write(p) }

func (c *countedSyncs) Sync() error {
	c.syncs.Add(1)
	return c.f.Sync()
}

// fakeDisk is a syncWriter that keeps what is written in memory and counts
// the fsyncs. A write is durable once an fsync that began after it has
// ended. With gate set, each Sync waits for a value (or the close) on it.
type fakeDisk struct {
	gate chan struct{}
	fail error // what Sync returns

	mu      sync.Mutex
	lines   []string // every write, in order
	durable int      // how many of lines a finished Sync covered
	syncs   int
}

func (d *fakeDisk) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lines = append(d.lines, string(p))
	return len(p), nil
}

func (d *fakeDisk) Sync() error {
	d.mu.Lock()
	d.syncs++
	covered := len(d.lines)
	d.mu.Unlock()
	if d.gate != nil {
		<-d.gate
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail == nil {
		d.durable = max(d.durable, covered)
	}
	return d.fail
}

// isDurable reports whether a line containing s is on disk.
func (d *fakeDisk) isDurable(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.lines[:d.durable], func(l string) bool { return strings.Contains(l, s) })
}

func (d *fakeDisk) counts() (syncs, lines int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.syncs, len(d.lines)
}

// TestGroupCommitSharesFsyncs: records appended while an fsync runs wait
// for the next one, which covers them all; none returns before an fsync
// that covers it has ended.
func TestGroupCommitSharesFsyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &fakeDisk{gate: make(chan struct{})}
		g := newGroupCommit(d)
		var returned atomic.Int32
		appendOne := func(i int) {
			rec := fmt.Sprintf("record %d\n", i)
			assert.NoError(t, g.Append([]byte(rec)))
			assert.True(t, d.isDurable(rec), "%q returned before it was on disk", rec)
			returned.Add(1)
		}
		var wg sync.WaitGroup
		wg.Go(func() { appendOne(0) })
		synctest.Wait() // record 0 written, its fsync running
		for i := 1; i < 10; i++ {
			wg.Go(func() { appendOne(i) })
		}
		synctest.Wait()
		syncs, lines := d.counts()
		assert.Equal(t, 1, syncs)
		assert.Equal(t, 10, lines, "every record is written at once")
		assert.Zero(t, returned.Load(), "nothing returns before its fsync ends")

		d.gate <- struct{}{} // the first fsync ends: it covers record 0 only
		synctest.Wait()
		syncs, _ = d.counts()
		assert.Equal(t, 2, syncs, "one more fsync, for the nine others")
		assert.Equal(t, int32(1), returned.Load())

		close(d.gate)
		wg.Wait()
		syncs, _ = d.counts()
		assert.Equal(t, 2, syncs, "10 records, 2 fsyncs")
		assert.Equal(t, int32(10), returned.Load())
	})
}

// TestGroupCommitAlone: a writer alone pays one fsync per record, and waits
// for it.
func TestGroupCommitAlone(t *testing.T) {
	d := &fakeDisk{}
	g := newGroupCommit(d)
	for i := range 5 {
		rec := fmt.Sprintf("record %d\n", i)
		require.NoError(t, g.Append([]byte(rec)))
		assert.True(t, d.isDurable(rec))
	}
	syncs, lines := d.counts()
	assert.Equal(t, 5, syncs)
	assert.Equal(t, 5, lines)
}

// TestGroupCommitFailureIsFinal: a failed fsync fails every record it was
// to cover, and every later one, which is not even written.
func TestGroupCommitFailureIsFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("I/O error")
		d := &fakeDisk{gate: make(chan struct{}), fail: broken}
		g := newGroupCommit(d)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() { assert.ErrorIs(t, g.Append(fmt.Appendf(nil, "record %d\n", i)), broken) })
			synctest.Wait()
		}
		close(d.gate)
		wg.Wait()
		assert.ErrorIs(t, g.Append([]byte("later\n")), broken)
		syncs, lines := d.counts()
		assert.Equal(t, 1, syncs, "the waiters do not retry the fsync")
		assert.Equal(t, 3, lines, "nothing written after the failure")
	})
}

// instantAPI creates every note at once and remembers nothing.
type instantAPI struct{}

func (instantAPI) CreateNote(context.Context, string, item, []string) error { return nil }
func (instantAPI) MemIt(context.Context, item, string, string) error        { return nil }
func (instantAPI) EnsureCollections(context.Context, []string) (map[string]string, error) {
	return nil, nil
}
func (instantAPI) WarmUp(context.Context) error { return nil }

// TestImportCountsOnlyWhatIsOnDisk: the import counts an outcome (progress,
// summary) only once its record is on disk, and the records of calls that
// end together share an fsync. (Were the journal written under a lock the
// workers share, they would wait on a mutex, which synctest.Wait does not
// count as blocked: this test would hang until go test's timeout.)
func TestImportCountsOnlyWhatIsOnDisk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &fakeDisk{gate: make(chan struct{})}
		j := memoryJournal()
		j.out = newGroupCommit(d)
		var shown counts
		im := &importer{api: instantAPI{}, journal: j, via: viaNotes, concurrency: 8, limit: -1,
			progress: func(c counts) {
				shown = c
				d.mu.Lock()
				defer d.mu.Unlock()
				assert.LessOrEqual(t, c.imported, d.durable, "counted before on disk")
			},
			counted: func(e journalEntry) {
				assert.True(t, d.isDurable(`"key":"`+e.Key+`"`), "%s counted before on disk", e.Key)
			},
		}
		var todo []item
		for i := range 40 {
			todo = append(todo, item{Key: fmt.Sprintf("doc-%02d.md", i), Where: fmt.Sprintf("doc-%02d.md", i)})
		}
		done := make(chan summary)
		go func() {
			s, err := im.work(t.Context(), todo, nil, newSummary())
			assert.NoError(t, err)
			done <- s
		}()
		var s summary
	loop:
		for {
			synctest.Wait() // every worker has written its record, or is done
			select {
			case s = <-done:
				break loop
			case d.gate <- struct{}{}: // the running fsync ends
			}
		}
		assert.Equal(t, 40, s.Imported)
		assert.Equal(t, 40, shown.imported)
		syncs, lines := d.counts()
		assert.Equal(t, 40, lines)
		// The first call goes alone (one fsync); after it, any two fsyncs
		// in a row cover a record of each of the 8 workers: 39 records
		// need at most 2*ceil(39/8) = 10 more.
		assert.LessOrEqual(t, syncs, 11, "8 workers share fsyncs")
		t.Logf("40 records, %d fsyncs", syncs)
	})
}

// TestImportJournalFailureCountsNothingAsDone: when the journal cannot be
// synced, the outcomes it was to keep count as failed (the next run retries
// them), not as imported, and the run stops with the journal's error.
func TestImportJournalFailureCountsNothingAsDone(t *testing.T) {
	d := &fakeDisk{fail: errors.New("no space left on device")}
	j := memoryJournal()
	j.out = newGroupCommit(d)
	im := &importer{api: instantAPI{}, journal: j, via: viaNotes, concurrency: 4, limit: -1}
	todo := []item{{Key: "a.md", Where: "a.md"}, {Key: "b.md", Where: "b.md"}, {Key: "c.md", Where: "c.md"}}
	s, err := im.work(t.Context(), todo, nil, newSummary())
	require.ErrorContains(t, err, "no space left on device")
	assert.Zero(t, s.Imported)
	require.Len(t, s.Failed, 1, "the first failure stops the run")
	assert.Equal(t, "a.md", s.Failed[0].Where)
	assert.Contains(t, s.Failed[0].Reason, "not recorded")
	assert.Equal(t, 2, s.NotAttempted)
	_, ok := j.Lookup("a.md")
	assert.False(t, ok, "what is not on disk is not looked up as done either")
}

// holdJournal opens path for appending (creating it), locked against
// other imports (see lockJournal), and loads it: another import, for the
// tests.
func holdJournal(path string) (*journal, error) {
	f, _, err := lockJournal(path)
	if err != nil {
		return nil, err
	}
	return attachJournal(path, f)
}
