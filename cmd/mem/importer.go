package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/memsdk/mem-go/throttle"
)

const (
	viaNotes = "notes"
	viaMemIt = "mem-it"
)

// importNamespace scopes the deterministic ids this tool derives from item
// keys (UUID version 5), so they cannot collide with anyone else's.
var importNamespace = uuid.MustParse("4f1b1e2a-7d0c-5b8e-9a43-6d2f0c9e8a71")

// noteID is the id of the note an item becomes: the same on every run, so a
// re-run, even without the journal, meets a 409 instead of a duplicate.
func noteID(key string) string { return uuid.NewSHA1(importNamespace, []byte("note:"+key)).String() }

// collectionID is the id a collection created by this tool gets.
func collectionID(title string) string {
	return uuid.NewSHA1(importNamespace, []byte("collection:"+strings.ToLower(title))).String()
}

// importAPI is what an import needs from Mem; memclient provides it (see
// api.go), tests may fake it.
type importAPI interface {
	// CreateNote creates the note with the given id; errAlreadyExists when
	// a note with that id is there.
	CreateNote(ctx context.Context, id string, it item, collectionIDs []string) error
	// MemIt sends the item's content through mem-it; errOutcomeUnknown when
	// it may or may not have reached Mem.
	MemIt(ctx context.Context, it item, instructions, context string) error
	// EnsureCollections returns the ids of collections with these titles,
	// creating the missing ones.
	EnsureCollections(ctx context.Context, titles []string) (map[string]string, error)
}

var (
	errAlreadyExists  = errors.New("already exists")
	errOutcomeUnknown = errors.New("outcome unknown")
)

// importer sends items through an importAPI, recording every outcome in the
// journal before it counts it.
type importer struct {
	api          importAPI
	th           *throttle.Throttle
	journal      *journal
	via          string
	concurrency  int
	collections  []string
	instructions string
	context      string
	retryUnknown bool // mem-it items whose outcome is unknown: send again
	limit        int  // stop after this many calls (--stop-at-day-limit); <0 none
	progress     func(done int)
}

// summary is what a run did.
type summary struct {
	Imported      int           `json:"imported"`
	AlreadyDone   int           `json:"already_done"`  // skipped: the journal says done
	AlreadyThere  int           `json:"already_there"` // 409: created by an earlier run
	Unknown       []failure     `json:"outcome_unknown,omitempty"`
	Failed        []failure     `json:"failed,omitempty"`
	NotAttempted  int           `json:"not_attempted"` // interrupted, or stopped at the day limit
	RateLimited   uint64        `json:"rate_limited_429s"`
	WaitedOnLimit time.Duration `json:"waited_on_limits_ns"`
	Elapsed       time.Duration `json:"elapsed_ns"`
}

type failure struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
}

// complete reports whether every item made it.
func (s summary) complete() bool {
	return len(s.Failed) == 0 && len(s.Unknown) == 0 && s.NotAttempted == 0
}

// pending splits items into those to send and those already settled by the
// journal (or unusable), and counts the latter into s.
func (im *importer) pending(items []item, s *summary) []item {
	var todo []item
	for _, it := range items {
		if it.Err != nil {
			// Not journalled: the source is read again next run, and the
			// item retried if it was fixed.
			s.Failed = append(s.Failed, failure{it.Where, it.Err.Error()})
			continue
		}
		if e, ok := im.journal.Lookup(it.Key); ok {
			switch {
			case e.Outcome == outcomeDone:
				s.AlreadyDone++
				continue
			case e.Outcome == outcomeUnknown && !im.retryUnknown:
				s.Unknown = append(s.Unknown, failure{it.Where, "sent through mem-it by an earlier run whose answer was lost: check Mem, then rerun with --retry-unknown to send it again"})
				continue
			}
		}
		todo = append(todo, it)
	}
	return todo
}

// run imports todo (what pending left to send) with im.concurrency workers,
// adding to s (what pending counted). When ctx ends, no new item starts;
// what was not attempted stays retryable.
func (im *importer) run(ctx context.Context, todo []item, s summary) (summary, error) {
	start := time.Now()
	if len(todo) == 0 {
		s.Elapsed = time.Since(start)
		return s, nil
	}
	var collectionIDs []string
	if im.via == viaNotes && len(im.collections) > 0 {
		ids, err := im.api.EnsureCollections(ctx, im.collections)
		if err != nil {
			return s, fmt.Errorf("collections: %w", err)
		}
		for _, t := range im.collections {
			collectionIDs = append(collectionIDs, ids[strings.ToLower(t)])
		}
	}
	if im.limit >= 0 && im.limit < len(todo) {
		s.NotAttempted += len(todo) - im.limit
		todo = todo[:im.limit]
	}

	before := im.th.Snapshot().Stats
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
		next = make(chan item)
	)
	var journalErr error
	for range max(1, im.concurrency) {
		wg.Go(func() {
			for it := range next {
				entry, outcome := im.send(ctx, it, collectionIDs)
				mu.Lock()
				if outcome != "" {
					if err := im.journal.Record(entry); err != nil && journalErr == nil {
						journalErr = err
					}
				}
				switch {
				case outcome == "":
					s.NotAttempted++
				case outcome == outcomeDone && entry.Reason == reasonAlreadyThere:
					s.AlreadyThere++
				case outcome == outcomeDone:
					s.Imported++
				case outcome == outcomeUnknown:
					s.Unknown = append(s.Unknown, failure{it.Where, entry.Reason})
				default:
					s.Failed = append(s.Failed, failure{it.Where, entry.Reason})
				}
				done++
				if im.progress != nil {
					im.progress(done)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i, it := range todo {
		select {
		case next <- it:
		case <-ctx.Done():
			mu.Lock()
			s.NotAttempted += len(todo) - i
			mu.Unlock()
			break feed
		}
	}
	close(next)
	wg.Wait()

	after := im.th.Snapshot().Stats
	s.RateLimited = after.RateLimited - before.RateLimited
	s.WaitedOnLimit = after.WaitTime - before.WaitTime
	s.Elapsed = time.Since(start)
	return s, journalErr
}

const reasonAlreadyThere = "already there (created by an earlier run)"

// send makes one call and says what became of the item. An empty outcome
// means the call was not made (the run is stopping): nothing is recorded.
func (im *importer) send(ctx context.Context, it item, collectionIDs []string) (journalEntry, string) {
	e := journalEntry{Key: it.Key, Via: im.via}
	var err error
	if im.via == viaMemIt {
		err = im.api.MemIt(ctx, it, im.instructions, im.context)
	} else {
		e.NoteID = noteID(it.Key)
		err = im.api.CreateNote(ctx, e.NoteID, it, collectionIDs)
		if errors.Is(err, errAlreadyExists) {
			err = nil
			e.Reason = reasonAlreadyThere
		}
	}
	e.At = time.Now()
	switch {
	case err == nil:
		e.Outcome = outcomeDone
	case errors.Is(err, errOutcomeUnknown):
		e.Outcome = outcomeUnknown
		e.Reason = err.Error()
	case ctx.Err() != nil:
		return e, "" // stopped before the call was made or answered: retry next run
	default:
		e.Outcome = outcomeFailed
		e.Reason = err.Error()
	}
	return e, e.Outcome
}
