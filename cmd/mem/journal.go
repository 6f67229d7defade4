package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Outcomes recorded in the journal.
const (
	outcomeDone    = "done"    // the note exists (created now, or found already there)
	outcomeFailed  = "failed"  // refused or failed for good this run; retried next run
	outcomeUnknown = "unknown" // mem-it sent, answer lost: may or may not be in Mem
)

// journalEntry is one line of the journal.
type journalEntry struct {
	Key     string    `json:"key"`
	Outcome string    `json:"outcome"`
	Via     string    `json:"via"`
	NoteID  string    `json:"note_id,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// journal is an append-only JSONL file of outcomes. Each Record is written
// at once and returns only once it is on disk, so an item counted as done
// survives a crash; records made at the same time share one fsync (see
// groupCommit). A torn last line (a crash mid-write) is ignored on the next
// load.
type journal struct {
	mu   sync.Mutex
	out  *groupCommit            // nil: kept in memory only (--mock), or read-only (--dry-run)
	f    *os.File                // the file out writes to
	last map[string]journalEntry // newest entry per key
}

// memoryJournal is a journal that writes no file.
func memoryJournal() *journal { return &journal{last: map[string]journalEntry{}} }

// readJournal loads path (when it exists) without opening it for writing:
// nothing is created.
func readJournal(path string) (*journal, error) {
	j := memoryJournal()
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return j, nil
	case err != nil:
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Key != "" {
			j.last[e.Key] = e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return j, nil
}

// openJournal loads path (when it exists) and opens it for appending.
func openJournal(path string) (*journal, error) {
	j, err := readJournal(path)
	if err != nil {
		return nil, err
	}
	j.f, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j.out = newGroupCommit(j.f)
	// A crash mid-write leaves a line without its newline: end it, so the
	// next entry does not run into it.
	if info, err := j.f.Stat(); err == nil && info.Size() > 0 {
		last := make([]byte, 1)
		if _, err := j.f.ReadAt(last, info.Size()-1); err == nil && last[0] != '\n' {
			if _, err := j.f.Write([]byte{'\n'}); err != nil {
				j.f.Close()
				return nil, fmt.Errorf("journal: %w", err)
			}
		}
	}
	return j, nil
}

// Lookup returns the newest outcome recorded for key.
func (j *journal) Lookup(key string) (journalEntry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.last[key]
	return e, ok
}

// Record appends e and returns once it is on disk. Concurrent Records share
// fsyncs: each waits at most for the fsync running when it wrote, and the
// next one.
func (j *journal) Record(e journalEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if j.out != nil {
		if err := j.out.Append(append(line, '\n')); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.last[e.Key] = e
	return nil
}

// Close closes the file. Every Record that returned is on disk already.
func (j *journal) Close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}

// syncWriter is what a groupCommit writes to: an *os.File (tests pass a
// fake that counts the fsyncs).
type syncWriter interface {
	Write(p []byte) (int, error)
	Sync() error
}

// groupCommit appends records to a file and makes them durable in groups
// (group commit). Append writes its record at once, then returns only after
// an fsync that began after the write has succeeded. One fsync covers every
// record written before it began, so records appended while an fsync runs
// share the next one instead of paying one each: with n writers, an fsync
// covers up to n records, and an Append waits for at most two fsyncs.
//
// There is no timer and no goroutine: the first writer that finds no fsync
// running starts one (without holding the lock, so others can write
// meanwhile), and the others wait for it. Nothing stays unsynced between
// Appends, so closing the file needs no final fsync.
//
// A failed write or fsync is final: that Append and every later one return
// the error (after a failed fsync, what the file holds is unknown). Safe
// for concurrent use.
type groupCommit struct {
	w       syncWriter
	mu      sync.Mutex
	synced  sync.Cond // broadcast when an fsync ends
	written uint64    // records written so far
	durable uint64    // records covered by a finished fsync
	syncing bool      // an fsync is running (outside mu)
	err     error     // the first failed write or fsync
}

func newGroupCommit(w syncWriter) *groupCommit {
	g := &groupCommit{w: w}
	g.synced.L = &g.mu
	return g
}

// Append writes record and returns once it is on disk, or the error that
// keeps it (and every later record) from getting there.
func (g *groupCommit) Append(record []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	if _, err := g.w.Write(record); err != nil {
		g.err = err
		return err
	}
	g.written++
	n := g.written
	for g.durable < n && g.err == nil {
		if g.syncing {
			g.synced.Wait() // that fsync may have begun before our write
			continue
		}
		g.syncLocked()
	}
	if g.durable >= n {
		return nil
	}
	return g.err
}

// syncLocked runs one fsync for every record written so far, with mu
// released while it runs.
func (g *groupCommit) syncLocked() {
	g.syncing = true
	upTo := g.written
	g.mu.Unlock()
	err := g.w.Sync()
	g.mu.Lock()
	g.syncing = false
	if err != nil {
		g.err = err
	} else {
		g.durable = upTo
	}
	g.synced.Broadcast()
}
