package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/memsdk/mem-go/memclient"
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
	// WarmUp makes one cheap read-only call (1 request, 1 complexity
	// token), whose answer tells the throttle the key's levels.
	WarmUp(ctx context.Context) error
}

var (
	errAlreadyExists  = errors.New("already exists")
	errOutcomeUnknown = errors.New("outcome unknown")
)

// importer sends items through an importAPI, recording every outcome in the
// journal before it counts it, and stops at the first fatal error (see
// breaker).
type importer struct {
	api          importAPI
	th           *throttle.Throttle
	journal      *journal
	via          string
	concurrency  int
	collections  []string // --collection: every note goes in these
	instructions string
	context      string
	retryUnknown bool // mem-it items whose outcome is unknown: send again
	limit        int  // stop after this many calls (--stop-at-day-limit); <0 none
	progress     func(counts)
	server       string // for messages
	blocked      *blockedClock
	// calls follows the calls in progress, and stops the run at the day
	// limit when told to (nil: a new one, without the day stop).
	calls *importCalls
	// counted, when set, is called with each outcome once its record is
	// on disk and it is counted, under the tally's lock (tests).
	counted func(journalEntry)

	// acceptUnknown records the mem-it items whose outcome is unknown as
	// in Mem (the user found them there): never sent again.
	acceptUnknown bool
}

// counts is how far a run has got, for the progress display.
type counts struct {
	imported int // created now
	already  int // found there: created by an earlier run
	failed   int // failed
	unknown  int // outcome unknown (mem-it)
	skipped  int // refused by the client before sending
}

// summary is what a run did. It is also the JSON of mem import --json.
type summary struct {
	Imported     int       `json:"imported"`
	AlreadyDone  int       `json:"already_done"`  // skipped: the journal says done
	AlreadyThere int       `json:"already_there"` // 409: created by an earlier run
	Skipped      []failure `json:"skipped"`       // can never be imported as they are
	Failed       []failure `json:"failed"`
	Unknown      []failure `json:"outcome_unknown"`
	NotAttempted int       `json:"not_attempted"` // stopped, interrupted, or at the day limit
	// StoppedAtDayLimit says why --stop-at-day-limit ended the run before
	// the end ("" if it did not).
	StoppedAtDayLimit string `json:"stopped_at_day_limit,omitempty"`
	// StoppedBecause says why the run stopped before the end ("" if it
	// did not): a fatal error (see breaker).
	StoppedBecause string `json:"stopped_because,omitempty"`
	RateLimited    uint64 `json:"rate_limited_429s"`
	// WaitedSummed adds up every call's wait for tokens: with calls in
	// flight together it can exceed the run. WaitedWall is the wall time
	// during which at least one call waited.
	WaitedSummed seconds `json:"waited_on_limits_summed_seconds"`
	WaitedWall   seconds `json:"waited_on_limits_wall_seconds"`
	Elapsed      seconds `json:"elapsed_seconds"`

	// Accepted lists the documents of unknown outcome recorded as in Mem
	// by --accept-unknown in this run.
	Accepted []failure `json:"accepted_unknown"`
	// accept is what --accept-unknown records as in Mem (see
	// importer.accept): the items of unknown outcome.
	accept []item
}

type failure struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
}

// complete reports whether every importable item made it.
func (s summary) complete() bool {
	return len(s.Failed) == 0 && len(s.Unknown) == 0 && s.NotAttempted == 0 && s.StoppedBecause == ""
}

// newSummary has empty lists rather than nulls, for --json.
func newSummary() summary {
	return summary{Skipped: []failure{}, Failed: []failure{}, Unknown: []failure{}, Accepted: []failure{}}
}

// pending splits items into those to send and those already settled by the
// journal, skipped or unreadable, and counts the latter into s. A document
// given twice (the same folder or file named twice on the command line: the
// same key) goes once; the others are skipped.
func (im *importer) pending(items []item, s *summary) []item {
	var todo []item
	seen := map[string]bool{}
	for _, it := range items {
		if it.Skip != "" {
			s.Skipped = append(s.Skipped, failure{it.Where, it.Skip})
			continue
		}
		if it.Err != nil {
			// Not journalled: the source is read again next run, and the
			// item retried if it was fixed.
			s.Failed = append(s.Failed, failure{it.Where, it.Err.Error()})
			continue
		}
		if seen[it.Key] {
			s.Skipped = append(s.Skipped, failure{it.Where, reasonGivenTwice})
			continue
		}
		seen[it.Key] = true
		if e, ok := im.journal.Lookup(it.Key); ok {
			switch {
			case e.Outcome == outcomeDone:
				s.AlreadyDone++
				continue
			case e.unknown() && im.acceptUnknown:
				s.accept = append(s.accept, it)
				continue
			case e.unknown() && !im.retryUnknown:
				s.Unknown = append(s.Unknown, failure{it.Where, reasonUnknownBefore})
				continue
			}
		}
		if p := im.localProblem(it); p != "" {
			s.Skipped = append(s.Skipped, failure{it.Where, p})
			continue
		}
		todo = append(todo, it)
	}
	return todo
}

// reasonUnknownBefore is why a document of unknown outcome is not sent,
// and the ways on.
const reasonUnknownBefore = "may have been sent through mem-it by an earlier run that got no answer: " +
	"check Mem, then rerun with --accept-unknown if it is there (never to send it again), or with --retry-unknown to send it again"

// reasonToAccept is why a dry run with --accept-unknown lists a document.
const reasonToAccept = "of unknown outcome: --accept-unknown would record it as in Mem, never to be sent again"

// reasonAccepted is the journal's reason for a document of unknown outcome
// recorded as in Mem by --accept-unknown.
const reasonAccepted = "outcome unknown, found in Mem by the user: recorded as done by --accept-unknown"

// accept records as in Mem (done, for good) the documents of unknown
// outcome that pending set aside for --accept-unknown, each on disk before
// it is counted. A document whose newest record is no longer of unknown
// outcome is left as it is.
func (im *importer) accept(s *summary) error {
	for _, it := range s.accept {
		e, ok := im.journal.Lookup(it.Key)
		if !ok || !e.unknown() {
			continue
		}
		done := journalEntry{Key: it.Key, Outcome: outcomeDone, Via: e.Via, Reason: reasonAccepted, At: time.Now()}
		if err := im.journal.Record(done); err != nil {
			return err
		}
		s.Accepted = append(s.Accepted, failure{it.Where, reasonAccepted})
	}
	s.accept = nil
	return nil
}

// reasonGivenTwice skips a document named a second time (the same path
// under the folder named, and the same content): a mem-it sent twice would
// capture it twice.
const reasonGivenTwice = "given twice (the same path and content as a document before it): imported once"

// localProblem says why the client would refuse the item before sending it
// ("" when it would not): the requests it makes, checked by their Validate
// at the time of the run (a time in the future cannot be judged when the
// sources are read). The note's collection ids are not known yet; they are
// UUIDs the client accepts. A collection title the client would refuse
// refuses the item too: its collection could not be created.
func (im *importer) localProblem(it item) string {
	var ve *memclient.ValidationError
	if !errors.As(im.validate(it), &ve) {
		return ""
	}
	return refusal(it, ve)
}

// validate is the client's check of the requests the item makes (see
// localProblem).
func (im *importer) validate(it item) error {
	if im.via == viaMemIt {
		return memItRequest(it, im.instructions, im.context).Validate()
	}
	if err := noteRequest(itemNoteID(it), it, nil).Validate(); err != nil {
		return err
	}
	for _, t := range it.CollectionTitles {
		var ve *memclient.ValidationError
		if errors.As(collectionRequest(t).Validate(), &ve) { // say which field of the item it is
			return &memclient.ValidationError{Field: "collection_titles", Problem: ve.Problem}
		}
	}
	return nil
}

// refusal is the reason an item is skipped when the client refuses its
// request before sending it, the same whether the pre-check or the call
// found it.
func refusal(it item, ve *memclient.ValidationError) string {
	if t := it.timeOf(ve.Field); t != nil && t.After(time.Now()) {
		return fmt.Sprintf("%s %s is in the future: Mem refuses it (fix it, or import once that time has passed)", ve.Field, t.UTC().Format(time.RFC3339))
	}
	return "refused before sending: " + strings.TrimSpace(ve.Field+" "+ve.Problem)
}

// timeOf is the item's time that becomes the request field named ("" or
// another field: nil).
func (it item) timeOf(field string) *time.Time {
	switch field {
	case "created_at", "timestamp":
		return it.CreatedAt
	case "updated_at":
		return it.UpdatedAt
	}
	return nil
}

// itemNoteID is the id of the note the item becomes.
func itemNoteID(it item) string {
	if it.NoteID != "" {
		return it.NoteID
	}
	return noteID(it.Key)
}

// noteRequest is the request that creates the item's note.
func noteRequest(id string, it item, collectionIDs []string) *memclient.CreateNoteRequest {
	req := &memclient.CreateNoteRequest{ID: id, Content: it.Content, CollectionIDs: collectionIDs}
	if it.CreatedAt != nil {
		req.CreatedAt = *it.CreatedAt
	}
	if it.UpdatedAt != nil {
		req.UpdatedAt = *it.UpdatedAt
	}
	return req
}

// memItRequest is the item's mem-it request: its own instructions and
// context, when it has them, replace the run's.
func memItRequest(it item, instructions, context string) *memclient.MemItRequest {
	req := &memclient.MemItRequest{Input: it.Content, Instructions: instructions, Context: context}
	if it.Instructions != "" {
		req.Instructions = it.Instructions
	}
	if it.Context != "" {
		req.Context = it.Context
	}
	if it.CreatedAt != nil {
		req.Timestamp = *it.CreatedAt
	}
	return req
}

// collectionRequest is the request that creates the collection titled t,
// when it is missing.
func collectionRequest(t string) *memclient.CreateCollectionRequest {
	return &memclient.CreateCollectionRequest{ID: collectionID(t), Title: t}
}

// collectionTitles is every collection the notes of todo go in: the
// --collection titles and the JSONL ones, each once (case-insensitively).
func (im *importer) collectionTitles(todo []item) []string {
	if im.via != viaNotes {
		return nil
	}
	seen := map[string]bool{}
	var titles []string
	add := func(ts []string) {
		for _, t := range ts {
			if k := strings.ToLower(t); !seen[k] {
				seen[k] = true
				titles = append(titles, t)
			}
		}
	}
	add(im.collections)
	for _, it := range todo {
		add(it.CollectionTitles)
	}
	return titles
}

// run imports todo (what pending left to send) with im.concurrency workers,
// adding to s (what pending counted). When ctx ends, or a fatal error trips
// the breaker, no new item starts and the calls in flight are abandoned;
// what was not attempted stays retryable. Its calls have batch priority:
// other calls on the same throttle go first.
func (im *importer) run(ctx context.Context, todo []item, s summary) (out summary, err error) {
	ctx = throttle.WithPriority(ctx, throttle.Batch)
	start := time.Now()
	defer func() { out.Elapsed = seconds(time.Since(start)) }()
	if im.limit >= 0 && im.limit < len(todo) {
		s.NotAttempted += len(todo) - im.limit
		s.StoppedAtDayLimit = fmt.Sprintf("from full buckets, the day windows set the pace after %s", plural(im.limit, "call", "calls"))
		todo = todo[:im.limit]
	}
	if len(todo) == 0 { // nothing left, or a day bound of no call at all
		return s, nil
	}
	before := im.th.Snapshot().Stats // the warm-up's and the collections' calls count too
	if reason := im.warmUp(ctx); reason != "" {
		s.StoppedBecause = reason
		s.NotAttempted += len(todo)
		return s, nil
	}
	var ids map[string]string
	ids, err = im.ensureCollections(ctx, todo) // only those of the documents this run sends
	if err != nil {
		if br := newBreaker(im.server); br.observe(err) != "" {
			s.StoppedBecause = br.reason
			s.NotAttempted += len(todo)
			return s, nil
		}
		return s, fmt.Errorf("collections: %w", err)
	}
	s, journalErr := im.work(ctx, todo, ids, s)
	after := im.th.Snapshot().Stats
	s.RateLimited = after.RateLimited - before.RateLimited
	cut, spans := im.calls.cutWaits()
	s.WaitedSummed = seconds(after.WaitTime - before.WaitTime + cut)
	if im.blocked != nil {
		for _, sp := range spans {
			im.blocked.add(sp)
		}
		s.WaitedWall = seconds(im.blocked.total())
	}
	if reason := im.calls.stoppedBecause(); reason != "" && s.NotAttempted > 0 { // a stop that left nothing undone stopped nothing
		s.StoppedAtDayLimit = reason
	}
	return s, journalErr
}

// warmUp makes one cheap call before the first mem-it of a run, while the
// throttle has not learnt the key's levels: until an answer tells them, it
// lets one call through blind, and a mem-it (40 complexity tokens) sent so
// on a key whose minute window holds fewer is refused with a 429. A cheap
// call costs 1 token and tells the levels. It returns why the run must stop
// when the call met a fatal error (see breaker), else "" (any other
// failure only loses the warm-up).
func (im *importer) warmUp(ctx context.Context) string {
	if !needsWarmUp(im.th, im.via) {
		return ""
	}
	return newBreaker(im.server).observe(im.api.WarmUp(ctx))
}

// needsWarmUp reports whether an import via via makes the warm-up call (see
// importer.warmUp): a mem-it import while th has not learnt the levels.
// The plan counts it by the same rule.
func needsWarmUp(th *throttle.Throttle, via string) bool {
	return via == viaMemIt && th.Snapshot().Probing
}

// ensureCollections makes sure every collection the notes go in exists,
// and returns their ids by lower-cased title.
func (im *importer) ensureCollections(ctx context.Context, todo []item) (map[string]string, error) {
	titles := im.collectionTitles(todo)
	if len(titles) == 0 {
		return nil, nil
	}
	return im.api.EnsureCollections(ctx, titles)
}

// collectionIDs returns the ids of the collections it goes in.
func (im *importer) collectionIDs(it item, ids map[string]string) []string {
	var out []string
	for _, t := range append(slices.Clone(im.collections), it.CollectionTitles...) {
		if id := ids[strings.ToLower(t)]; id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// work feeds todo to the workers and tallies their outcomes into s. The
// first call goes alone: a refused key or a dead server then costs one call
// (and its retries), not one per worker. The first fatal error (see
// breaker) cancels the rest.
func (im *importer) work(parent context.Context, todo []item, ids map[string]string, s summary) (summary, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	if im.calls == nil {
		im.calls = newImportCalls()
	}
	t := &tally{im: im, s: s, br: newBreaker(im.server), cancel: cancel}
	sendOne := func(it item) {
		if ctx.Err() != nil { // stopped: select may still have handed it over
			t.notAttempted(1)
			return
		}
		cctx, st, ok := im.calls.begin(ctx)
		if !ok { // at the day limit
			t.notAttempted(1)
			return
		}
		if im.via == viaMemIt {
			st.intent = im.intent(it)
		}
		entry, outcome, err := im.send(cctx, it, im.collectionIDs(it, ids), st.intent)
		im.calls.end(st)
		if im.calls.stopOnRateLimit(err) {
			outcome = ""
		}
		t.record(it, entry, outcome, err)
	}
	sendOne(todo[0])
	var wg sync.WaitGroup
	next := make(chan item)
	for range max(1, im.concurrency) {
		wg.Go(func() {
			for it := range next {
				sendOne(it)
			}
		})
	}
	rest := todo[1:]
feed:
	for i, it := range rest {
		select {
		case next <- it:
		case <-ctx.Done():
			t.notAttempted(len(rest) - i)
			break feed
		}
	}
	close(next)
	wg.Wait()
	return t.s, t.journalErr
}

// tally counts a run's outcomes as its workers report them, journals each
// before counting it, and trips the run's breaker.
type tally struct {
	im         *importer
	mu         sync.Mutex
	s          summary
	c          counts
	br         *breaker
	cancel     context.CancelFunc
	journalErr error
}

// record journals one item's outcome (unless the call was not made) and,
// once the record is on disk, counts it: nothing shows as settled (in the
// progress, the summary or its JSON) before its record would survive a
// crash. The journal is written outside t.mu, so that the records of calls
// that end together share an fsync. An outcome the journal could not keep
// counts as failed (the next run retries it); a fatal error or a journal
// that cannot be written stops the run.
func (t *tally) record(it item, entry journalEntry, outcome string, err error) {
	switch outcome {
	case "":
		t.notAttempted(1)
		return
	case outcomeSkipped:
		t.skipped(it, entry.Reason)
		return
	}
	jerr := t.im.journal.Record(entry)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case jerr != nil:
		if t.journalErr == nil {
			t.journalErr = jerr
			t.cancel()
		}
		t.s.Failed = append(t.s.Failed, failure{it.Where, "not recorded: " + describe(jerr)})
		t.c.failed++
	case outcome == outcomeDone && entry.Reason == reasonAlreadyThere:
		t.s.AlreadyThere++
		t.c.already++
	case outcome == outcomeDone:
		t.s.Imported++
		t.c.imported++
	case outcome == outcomeUnknown:
		t.s.Unknown = append(t.s.Unknown, failure{it.Where, entry.Reason})
		t.c.unknown++
	default:
		t.s.Failed = append(t.s.Failed, failure{it.Where, describe(err)})
		t.c.failed++
	}
	if reason := t.br.observe(err); reason != "" && t.s.StoppedBecause == "" {
		t.s.StoppedBecause = reason
		t.cancel()
	}
	if t.im.counted != nil && jerr == nil {
		t.im.counted(entry)
	}
	if t.im.progress != nil {
		t.im.progress(t.c)
	}
}

// skipped counts an item the client refused before sending it. It is not
// journalled: the next run checks it again. (It says nothing of the server,
// so the breaker does not see it.)
func (t *tally) skipped(it item, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Skipped = append(t.s.Skipped, failure{it.Where, reason})
	t.c.skipped++
	if t.im.progress != nil {
		t.im.progress(t.c)
	}
}

func (t *tally) notAttempted(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.NotAttempted += n
}

const reasonAlreadyThere = "already there (created by an earlier run)"

// send makes one call and says what became of the item, with the call's
// error. An empty outcome means the call was not made or not answered
// because the run is stopping: nothing is recorded. A call with an intent
// (see sendIntent) is of unknown outcome when it ends with its intent
// standing and without an answer.
func (im *importer) send(ctx context.Context, it item, collectionIDs []string, in *sendIntent) (journalEntry, string, error) {
	e := journalEntry{Key: it.Key, Via: im.via}
	var err error
	if im.via == viaMemIt {
		err = im.api.MemIt(ctx, it, im.instructions, im.context)
	} else {
		e.NoteID = itemNoteID(it)
		err = im.api.CreateNote(ctx, e.NoteID, it, collectionIDs)
		if errors.Is(err, errAlreadyExists) {
			err = nil
			e.Reason = reasonAlreadyThere
		}
	}
	e.At = time.Now()
	unknown := errors.Is(err, errOutcomeUnknown)
	if in != nil {
		unknown = in.standing && (unknown || ctx.Err() != nil)
	}
	var invalid *memclient.ValidationError
	switch {
	case err == nil:
		e.Outcome = outcomeDone
	case errors.As(err, &invalid) && invalid.API == nil:
		// Refused by the client, before sending: it would be every time.
		e.Outcome = outcomeSkipped
		e.Reason = refusal(it, invalid)
	case errors.Is(err, errIntentNotRecorded):
		e.Outcome = outcomeFailed
		e.Reason = errIntentNotRecorded.Error()
	case unknown:
		e.Outcome = outcomeUnknown
		e.Reason = unknownReason(err)
	case ctx.Err() != nil:
		return e, "", err // stopped before the call was made or answered: retry next run
	default:
		e.Outcome = outcomeFailed
		e.Reason = describe(err)
	}
	return e, e.Outcome, err
}

// unknownReason says, once, why a mem-it sent is of unknown outcome, and
// the ways on. The client's error names the outcome unknown and the
// request twice; what ended the wait for its answer is said here.
func unknownReason(err error) string {
	cause := err
	var ou *memclient.OutcomeUnknownError
	if errors.As(err, &ou) && ou.Err != nil {
		cause = ou.Err
	}
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err
	}
	why := describe(cause)
	var op *net.OpError
	if errors.As(cause, &op) {
		why = connReason(cause) // "connection reset by peer"
	}
	return "may have reached Mem (" + why + "): check Mem, then rerun with --accept-unknown if it is there, or with --retry-unknown to send it again"
}

// intent is the sendIntent of the item's mem-it call: "sending" recorded,
// and withdrawn by the item's previous record (or "not-sent" when it had
// none), so that a withdrawn intent leaves the item as it was.
func (im *importer) intent(it item) *sendIntent {
	prev, had := im.journal.Lookup(it.Key)
	mark := func(outcome string) error {
		return im.journal.Record(journalEntry{Key: it.Key, Outcome: outcome, Via: im.via, At: time.Now()})
	}
	return &sendIntent{
		record: func() error { return mark(outcomeSending) },
		withdraw: func() error {
			if had {
				return im.journal.Record(prev)
			}
			return mark(outcomeNotSent)
		},
	}
}

// blockedClock adds up the wall time during which at least one call waited
// for tokens: the union of the waits, which the throttle reports as they end
// (and the import adds those it cut short). Safe for concurrent use.
type blockedClock struct {
	mu    sync.Mutex
	spans []waitSpan
}

// onWait is a throttle.Hooks.OnWait.
func (b *blockedClock) onWait(e throttle.WaitEvent) {
	end := time.Now()
	b.add(waitSpan{end.Add(-e.Waited), end})
}

// add records one wait.
func (b *blockedClock) add(sp waitSpan) {
	if !sp.end.After(sp.start) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spans = append(b.spans, sp)
}

// total is the length of the union of the waits.
func (b *blockedClock) total() time.Duration {
	b.mu.Lock()
	spans := slices.Clone(b.spans)
	b.mu.Unlock()
	slices.SortFunc(spans, func(x, y waitSpan) int { return x.start.Compare(y.start) })
	var sum time.Duration
	var until time.Time
	for _, sp := range spans {
		start := sp.start
		if start.Before(until) {
			start = until
		}
		if sp.end.After(start) {
			sum += sp.end.Sub(start)
			until = sp.end
		}
	}
	return sum
}
