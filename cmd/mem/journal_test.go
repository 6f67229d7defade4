package main

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJournalRecord measures what a record costs the process in CPU
// (cpu-µs/record: user and system time, fsync included) with 1 writer and
// with 8 writers at once, as the import's workers record.
func BenchmarkJournalRecord(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			j, err := openJournal(filepath.Join(b.TempDir(), "j"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			cpu := cpuTime(b)
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
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/record")
		})
	}
}
