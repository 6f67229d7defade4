package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Outcomes recorded in the journal.
const (
	outcomeDone    = "done"    // the note exists (created now, or found already there)
	outcomeFailed  = "failed"  // refused or failed for good this run; retried next run
	outcomeUnknown = "unknown" // mem-it sent, answer lost: may or may not be in Mem
	// outcomeSending is recorded, and on disk, before a mem-it request
	// leaves: a run that dies before its answer leaves it as the key's
	// newest record, which then means the same as outcomeUnknown.
	outcomeSending = "sending"
	// outcomeNotSent withdraws an outcomeSending whose request was not
	// processed after all (a 429, or stopped before it left) when the key
	// had no earlier record; one that had gets that record again instead.
	outcomeNotSent = "not-sent"
	// outcomeSkipped is never recorded: the client refused the document
	// before sending it, and the next run checks it again.
	outcomeSkipped = "skipped"
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

// unknown reports whether e says the item may or may not be in Mem: a
// mem-it whose answer was lost, or whose run died while it may have been
// in flight.
func (e journalEntry) unknown() bool {
	return e.Outcome == outcomeUnknown || e.Outcome == outcomeSending
}

// journalOwner is the server and API key a journal's outcomes belong to: a
// note "done" on one server or account says nothing about another. The key
// is kept only as a fingerprint that cannot be turned back into it.
type journalOwner struct {
	Server         string `json:"server"`
	KeyFingerprint string `json:"key_sha256_prefix"`
}

// newJournalOwner names the server (see canonicalServer) and the key's
// fingerprint: the first 8 bytes of its SHA-256, in hex.
func newJournalOwner(server, key string) journalOwner {
	sum := sha256.Sum256([]byte(key))
	return journalOwner{Server: canonicalServer(server), KeyFingerprint: hex.EncodeToString(sum[:8])}
}

// same reports whether o (a journal's) and p (a run's) name the same
// server and key, however the server's URL was written. A run without a
// key (a dry run) is checked by its server alone.
func (o journalOwner) same(p journalOwner) bool {
	return (p.KeyFingerprint == "" || o.KeyFingerprint == p.KeyFingerprint) && canonicalServer(o.Server) == canonicalServer(p.Server)
}

// canonicalServer writes a server's URL one way: scheme and host in lower
// case, no default port, no trailing slash ("HTTPS://API.mem.ai:443/" is
// "https://api.mem.ai").
func canonicalServer(server string) string {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || u.Host == "" {
		return strings.TrimRight(server, "/")
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
		u.Host = u.Hostname()
	}
	return strings.TrimRight(u.String(), "/")
}

// journalHeader is the line that binds a journal to its owner. It has no
// "key", so a mem that predates it skips it as a line it cannot use. The
// newest header counts: a journal that settled nothing may be taken over by
// another server or key (see checkOwner).
type journalHeader struct {
	Format int `json:"mem_import_journal"` // journalFormat
	journalOwner
	At time.Time `json:"at"`
}

const journalFormat = 1

// journalMismatchError refuses a journal written for another server or key
// that settled documents there: this run would skip them though they are
// not on its server.
type journalMismatchError struct {
	path      string
	have, run journalOwner
}

func (e *journalMismatchError) Error() string {
	what := "another API key (if it is not meant to be, check MEM_API_KEY)"
	runKey := "key fingerprint " + e.run.KeyFingerprint
	switch {
	case e.run.KeyFingerprint == "": // a dry run without a key: only the server was compared
		what, runKey = "another server", "no API key"
	case e.have.Server != e.run.Server && e.have.KeyFingerprint != e.run.KeyFingerprint:
		what = "another server and API key"
	case e.have.Server != e.run.Server:
		what = "another server"
	}
	return fmt.Sprintf("the journal %s was written for %s (key fingerprint %s), and this run is for %s (%s): "+
		"%s, where the documents it records as imported may not be.\n"+
		"Start a fresh journal with --new-journal (the old one is kept beside it), or keep one journal per server and key with --journal FILE.",
		e.path, e.have.Server, e.have.KeyFingerprint, e.run.Server, runKey, what)
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
	// owner is the newest header's owner (nil: none read or written).
	owner *journalOwner
	path  string
}

// memoryJournal is a journal that writes no file.
func memoryJournal() *journal { return &journal{last: map[string]journalEntry{}} }

// readJournal loads path (when it exists) without opening it for writing:
// nothing is created, and no lock is taken.
func readJournal(path string) (*journal, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		j := memoryJournal()
		j.path = path
		return j, nil
	case err != nil:
		return nil, &journalFileError{path, "open", err}
	}
	defer f.Close()
	return loadJournal(path, f)
}

// loadJournal reads the journal at path from r. A line torn by a crash
// mid-write is passed over; a file with no line a journal holds is refused
// (see notJournalError).
func loadJournal(path string, r io.Reader) (*journal, error) {
	j := memoryJournal()
	j.path = path
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lines, journalLines := 0, 0
	for sc.Scan() {
		lines++
		var e journalEntry
		var h journalHeader
		switch line := sc.Bytes(); {
		case json.Unmarshal(line, &e) == nil && e.Key != "":
			j.last[e.Key] = e
			journalLines++
		case json.Unmarshal(line, &h) == nil && h.Format > 0:
			j.owner = &h.journalOwner
			journalLines++
		case lines == 1 && bytes.HasPrefix(line, []byte(`{"mem_import_journal":`)):
			journalLines++ // a header torn by a crash as the journal began
		}
	}
	switch err := sc.Err(); {
	case err != nil && journalLines == 0, lines > 0 && journalLines == 0:
		return nil, &notJournalError{path}
	case err != nil:
		return nil, &journalFileError{path, "read", err}
	}
	return j, nil
}

// notJournalError refuses, as the journal, a file that holds something
// else (a note named by mistake with --journal): the import would append
// its records to it.
type notJournalError struct{ path string }

func (e *notJournalError) Error() string {
	return fmt.Sprintf("%s is not an import journal: none of its lines is one mem writes, so mem leaves the file as it is.\n"+
		"Pass --journal with the name of a new file, or of a journal an earlier import wrote.", absPath(e.path))
}

// journalFileError is a journal that could not be opened, read or
// written: it names the file by its absolute path, says why in the
// system's words, and what to do.
type journalFileError struct {
	path  string
	doing string // "open", "read", "write to"...
	err   error
}

func (e *journalFileError) Error() string {
	return fmt.Sprintf("cannot %s the journal %s: %s; %s", e.doing, absPath(e.path), osReason(e.err), journalAdvice(e.path, e.err))
}

func (e *journalFileError) Unwrap() error { return e.err }

// osReason is the system's words for err, without the operation and path
// it names ("permission denied").
func osReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// journalAdvice says what to do when the journal at path fails with err.
func journalAdvice(path string, err error) string {
	dir := absPath(filepath.Dir(path))
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "free some space, then run the same command again (the journal keeps what is done)"
	case errors.Is(err, fs.ErrNotExist):
		return "the folder " + dir + " does not exist: create it, or pass --journal FILE to keep the journal elsewhere"
	case errors.Is(err, syscall.ENOTDIR):
		return dir + " is not a folder: pass --journal FILE to keep the journal elsewhere"
	case errors.Is(err, syscall.EISDIR):
		return "it is a folder: pass --journal FILE naming a file"
	}
	return "check that you may write in " + dir + ", or pass --journal FILE to keep the journal elsewhere"
}

// absPath is path made absolute, for messages (path itself when that
// fails).
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// attachJournal loads the journal from f, the file at path opened by
// lockJournal, and appends to it from now on. It closes f on failure.
func attachJournal(path string, f *os.File) (*journal, error) {
	j, err := loadJournal(path, io.NewSectionReader(f, 0, math.MaxInt64))
	if err != nil {
		f.Close()
		return nil, err
	}
	j.f = f
	j.out = newGroupCommit(j.f)
	// A crash mid-write leaves a line without its newline: end it, so the
	// next entry does not run into it.
	if info, err := j.f.Stat(); err == nil && info.Size() > 0 {
		last := make([]byte, 1)
		if _, err := j.f.ReadAt(last, info.Size()-1); err == nil && last[0] != '\n' {
			if _, err := j.f.Write([]byte{'\n'}); err != nil {
				j.f.Close()
				return nil, &journalFileError{path, "write to", err}
			}
		}
	}
	return j, nil
}

// errLocked is lockFile's "another open file holds the lock".
var errLocked = errors.New("locked")

// errCannotLock is lockFile's "the file system cannot lock files".
var errCannotLock = errors.New("the file system cannot lock files")

// journalBusyError refuses a journal another import is using: two imports
// of one journal at once would each send what the other is sending.
type journalBusyError struct{ path string }

func (e *journalBusyError) Error() string {
	return fmt.Sprintf("the journal %s is in use by another mem import running now: two at once would send the same documents twice.\n"+
		"Wait for it to end, or give this import its own --journal FILE.", e.path)
}

// lockJournal opens path for appending, creating it, and locks it for this
// process until the file is closed (with flock(2) where the platform has
// it: the kernel drops the lock when the process dies, so none is left
// stale; elsewhere, not at all). It fails at once, with a
// *journalBusyError, when another import holds the lock. A file replaced at
// path between the open and the lock (by --new-journal) is let go and path
// opened again. On a file system that cannot lock (see lockFile) the file
// is returned unlocked, and unlocked says so.
func lockJournal(path string) (f *os.File, unlocked bool, err error) {
	for range 10 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o644)
		if err != nil {
			return nil, false, &journalFileError{path, "open", err}
		}
		if hookOpened != nil {
			hookOpened()
		}
		err = lockFile(f)
		switch {
		case errors.Is(err, errLocked):
			f.Close()
			return nil, false, &journalBusyError{path}
		case err != nil && !errors.Is(err, errCannotLock):
			f.Close()
			return nil, false, &journalFileError{path, "lock", err}
		}
		if held, statErr := f.Stat(); statErr == nil {
			if now, statErr := os.Stat(path); statErr == nil && os.SameFile(held, now) {
				return f, err != nil, nil
			}
		}
		f.Close()
	}
	return nil, false, fmt.Errorf("journal: %s keeps being replaced while it is opened", path)
}

// hookOpened, when set (in tests), runs in lockJournal between the open
// and the lock.
var hookOpened func()

// checkOwner says whether a run for owner may use the journal. It may when
// the newest header names owner, when there is no header (a new journal,
// or one written by a mem that recorded no owner: taken as this run's), or
// when the journal settled nothing (no document done or of unknown outcome:
// nothing would be skipped). Otherwise it returns a *journalMismatchError.
// recorded says whether the journal named an owner.
func (j *journal) checkOwner(owner journalOwner) (recorded bool, err error) {
	j.mu.Lock()
	have := j.owner
	j.mu.Unlock()
	if have == nil || have.same(owner) || j.settled() == 0 {
		return have != nil, nil
	}
	return true, &journalMismatchError{path: j.path, have: *have, run: owner}
}

// settled counts the documents the journal records as done or of unknown
// outcome.
func (j *journal) settled() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, e := range j.last {
		if e.Outcome == outcomeDone || e.unknown() {
			n++
		}
	}
	return n
}

// claim records owner as the journal's (a header line) unless the newest
// header already names it. It writes only to a journal opened for writing.
func (j *journal) claim(owner journalOwner) error {
	j.mu.Lock()
	if j.owner != nil && j.owner.same(owner) {
		j.mu.Unlock()
		return nil
	}
	j.owner = &owner
	j.mu.Unlock()
	if j.out == nil {
		return nil
	}
	line, err := json.Marshal(journalHeader{Format: journalFormat, journalOwner: owner, At: time.Now()})
	if err != nil {
		return err
	}
	if err := j.out.Append(append(line, '\n')); err != nil {
		return &journalFileError{j.path, "write to", err}
	}
	return nil
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
			return &journalFileError{j.path, "write to", err}
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
