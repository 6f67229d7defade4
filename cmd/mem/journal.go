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
// and synced to disk before it returns, so an item reported done survives a
// crash; a torn last line (a crash mid-write) is ignored on the next load.
type journal struct {
	mu   sync.Mutex
	f    *os.File                // nil: kept in memory only (--mock), or read-only (--dry-run)
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

// Record appends e and syncs the file before returning.
func (j *journal) Record(e journalEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		j.last[e.Key] = e
		return nil
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.last[e.Key] = e
	return nil
}

// Close closes the file.
func (j *journal) Close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}
