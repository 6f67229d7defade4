package mock

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// Size limits of Mem's OpenAPI spec, in characters (checkLen's second bound
// limits UTF-8 bytes where the spec does: note content on create, collection
// titles and descriptions), then the sizes of what searches and lists return.
const (
	maxMemItInput   = 1_000_000
	maxMemItAux     = 10_000 // instructions, context
	maxNoteContent  = 200_000
	maxCollTitle    = 1_000
	maxCollDesc     = 10_000
	searchWindow    = 100 // notes a search snapshot holds
	snippetRunes    = 160
	previewRunes    = 280
	collSearchBound = 50
)

type requestIDOnly struct {
	RequestID string `json:"request_id"`
}

type noteBase struct {
	RequestID     string   `json:"request_id"`
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	Content       string   `json:"content"`
	Version       int64    `json:"version"`
	CollectionIDs []string `json:"collection_ids"`
	CreatedAt     string   `json:"created_at"`
	UpdatedAt     string   `json:"updated_at"`
}

type noteWithTrash struct {
	noteBase
	TrashedAt *string `json:"trashed_at"`
}

type readNoteResp struct {
	noteWithTrash
	AudioRecordingIDs  []string `json:"audio_recording_ids"`
	AttachmentMetadata []any    `json:"attachment_metadata"`
}

type noteItem struct {
	ID                string   `json:"id"`
	Title             string   `json:"title"`
	CollectionIDs     []string `json:"collection_ids"`
	AudioRecordingIDs []string `json:"audio_recording_ids"`
	CreatedAt         string   `json:"created_at"`
	UpdatedAt         string   `json:"updated_at"`
	Snippet           *string  `json:"snippet,omitempty"`
	Content           *string  `json:"content,omitempty"`
}

func (c *call) base(n *note) noteBase {
	return noteBase{
		RequestID: c.reqID, ID: n.id, Title: n.title, Content: n.content, Version: n.version,
		CollectionIDs: nonNil(slices.Clone(n.collections)),
		CreatedAt:     fmtTime(n.created), UpdatedAt: fmtTime(n.updated),
	}
}

func (c *call) withTrash(n *note) noteWithTrash {
	return noteWithTrash{noteBase: c.base(n), TrashedAt: fmtTimePtr(n.trashed)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func snippetOf(n *note) *string {
	_, rest, _ := strings.Cut(n.content, "\n")
	s := truncateRunes(strings.TrimSpace(rest), snippetRunes)
	return &s
}

func item(n *note, withContent bool) noteItem {
	it := noteItem{
		ID: n.id, Title: n.title, CollectionIDs: nonNil(slices.Clone(n.collections)),
		AudioRecordingIDs: []string{}, CreatedAt: fmtTime(n.created), UpdatedAt: fmtTime(n.updated),
		Snippet: snippetOf(n),
	}
	if withContent {
		content := n.content
		it.Content = &content
	}
	return it
}

// noteParam resolves the {note_id} path parameter.
func (c *call) noteParam() (*note, *apiError) {
	id, e := parseUUID("note_id", c.r.PathValue("note_id"))
	if e != nil {
		return nil, e
	}
	n := c.ks.notes[id]
	if n == nil {
		return nil, notFound("note", id)
	}
	return n, nil
}

// quotaCheck refuses a note creation past the key's quota allowance.
func (c *call) quotaCheck() *apiError {
	q := c.s.cfg.Quota
	if q.Allowance == 0 {
		return nil
	}
	ks := c.ks
	if elapsed := c.now.Sub(ks.quotaStart); elapsed >= q.Period {
		ks.quotaStart = ks.quotaStart.Add(elapsed / q.Period * q.Period)
		ks.quotaUsed = 0
	}
	if ks.quotaUsed < q.Allowance {
		return nil
	}
	reset := ks.quotaStart.Add(q.Period)
	wait := reset.Sub(c.now)
	return errorf(http.StatusTooManyRequests, ErrTypeQuotaExceeded,
		"usage quota exceeded: %d of %d note creations used this period", ks.quotaUsed, q.Allowance).
		with("current_plan", q.Plan).
		with("used", ks.quotaUsed).
		with("free_used", ks.quotaUsed).
		with("reset_time", reset.UTC().Format(time.RFC3339)).
		with("limit", q.Allowance).
		with("free_limit", q.Allowance).
		with("retry_after_seconds", max(1, int64((wait+time.Second-1)/time.Second)))
}

// insert stores a new note; the caller has checked its id is free.
func (c *call) insert(id, content string, created, updated time.Time) *note {
	n := &note{id: id, created: created, origCreated: created, updated: updated, version: 1}
	n.setContent(content)
	c.ks.addNote(n)
	c.ks.quotaUsed++
	return n
}

func memIt(c *call) (any, *apiError) {
	var in struct {
		Input        opt[string] `json:"input"`
		Instructions opt[string] `json:"instructions"`
		Context      opt[string] `json:"context"`
		Timestamp    opt[string] `json:"timestamp"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("input", in.Input); e != nil {
		return nil, e
	}
	if e := checkLen("input", in.Input.v, maxMemItInput, 0); e != nil {
		return nil, e
	}
	if e := checkLen("instructions", in.Instructions.v, maxMemItAux, 0); e != nil {
		return nil, e
	}
	if e := checkLen("context", in.Context.v, maxMemItAux, 0); e != nil {
		return nil, e
	}
	ts, ok, e := optTime("timestamp", in.Timestamp, c.now)
	if e != nil {
		return nil, e
	}
	if !ok {
		ts = c.now.UTC().Truncate(time.Millisecond)
	}
	if e := c.quotaCheck(); e != nil {
		return nil, e
	}
	c.insert(uuid.NewString(), in.Input.v, ts, ts)
	return requestIDOnly{c.reqID}, nil
}

// createFields validates what a create of a note or a collection shares: the
// optional caller-provided id (a new one when absent) and the optional
// timestamps (updated_at defaults to now, created_at to updated_at).
func (c *call) createFields(id, createdAt, updatedAt opt[string]) (string, time.Time, time.Time, *apiError) {
	newID := uuid.NewString()
	if id.has() {
		var e *apiError
		if newID, e = parseUUID("id", id.v); e != nil {
			return "", time.Time{}, time.Time{}, e
		}
	}
	created, hasCreated, e := optTime("created_at", createdAt, c.now)
	if e != nil {
		return "", time.Time{}, time.Time{}, e
	}
	updated, hasUpdated, e := optTime("updated_at", updatedAt, c.now)
	if e != nil {
		return "", time.Time{}, time.Time{}, e
	}
	if !hasUpdated {
		updated = c.now.UTC().Truncate(time.Millisecond)
	}
	if !hasCreated {
		created = updated
	}
	return newID, created, updated, nil
}

func createNote(c *call) (any, *apiError) {
	var in struct {
		Content          opt[string]   `json:"content"`
		ID               opt[string]   `json:"id"`
		CollectionIDs    opt[[]string] `json:"collection_ids"`
		CollectionTitles opt[[]string] `json:"collection_titles"`
		CreatedAt        opt[string]   `json:"created_at"`
		UpdatedAt        opt[string]   `json:"updated_at"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("content", in.Content); e != nil {
		return nil, e
	}
	if e := checkLen("content", in.Content.v, maxNoteContent, maxNoteContent); e != nil {
		return nil, e
	}
	id, created, updated, e := c.createFields(in.ID, in.CreatedAt, in.UpdatedAt)
	if e != nil {
		return nil, e
	}
	var colls []*collection
	for _, cid := range in.CollectionIDs.v {
		cid, e := parseUUID("collection_ids", cid)
		if e != nil {
			return nil, e
		}
		if col := c.ks.colls[cid]; col != nil {
			colls = append(colls, col)
		}
	}
	if len(in.CollectionTitles.v) > 0 {
		byTitle := map[string][]*collection{} // case-folded title → collections
		for _, col := range c.ks.colls {
			k := strings.ToLower(col.title)
			byTitle[k] = append(byTitle[k], col)
		}
		for _, t := range in.CollectionTitles.v {
			if e := checkLen("collection_titles", t, maxCollTitle, maxCollTitle); e != nil {
				return nil, e
			}
			colls = append(colls, byTitle[strings.ToLower(t)]...)
		}
	}
	if _, dup := c.ks.notes[id]; dup {
		return nil, conflict("a note with id %s already exists", id).with("id", id).with("reason", "duplicate_id")
	}
	if e := c.quotaCheck(); e != nil {
		return nil, e
	}
	n := c.insert(id, in.Content.v, created, updated)
	// Stable order of collections: by id, for determinism across map order.
	slices.SortFunc(colls, func(a, b *collection) int { return strings.Compare(a.id, b.id) })
	for _, col := range colls {
		c.ks.addMember(col, n)
	}
	return c.base(n), nil
}

// listFingerprint identifies a list request's filters and order, so a cursor
// is only honoured by the request it came from.
func listFingerprint(q map[string][]string, skip ...string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if !slices.Contains(skip, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "=" + strings.Join(q[k], ",") + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// taskFlags reports whether content holds open tasks and any tasks
// (markdown "- [ ]" / "- [x]" items) and images ("![").
func taskFlags(content string) (open, any, images bool) {
	for line := range strings.Lines(content) {
		t := strings.TrimLeftFunc(line, unicode.IsSpace)
		for _, b := range []string{"- ", "* ", "+ "} {
			if rest, ok := strings.CutPrefix(t, b); ok {
				switch {
				case strings.HasPrefix(rest, "[ ]"):
					open, any = true, true
				case strings.HasPrefix(rest, "[x]"), strings.HasPrefix(rest, "[X]"):
					any = true
				}
			}
		}
	}
	return open, any, strings.Contains(content, "![")
}

// contentFilter is the OR'd contains_* flags; none set admits every note.
type contentFilter struct{ openTasks, tasks, images, files bool }

// none reports whether no flag is set.
func (f contentFilter) none() bool { return !f.openTasks && !f.tasks && !f.images && !f.files }

func (f contentFilter) admits(n *note) bool {
	return f.none() || (f.openTasks && n.openTasks) || (f.tasks && n.tasks) || (f.images && n.images)
}

// notesQuery is a GET /v2/notes request.
type notesQuery struct {
	page        pageQuery
	collID      string // "" for all notes
	rest        timeRange
	cf          contentFilter
	withContent bool
}

// parseNotesQuery validates a GET /v2/notes query, in the order the
// parameters are checked.
func parseNotesQuery(q url.Values) (notesQuery, *apiError) {
	var nq notesQuery
	var e *apiError
	if nq.page, e = parseListQuery(q, "limit", "page", "include_note_content"); e != nil {
		return nq, e
	}
	if v := q.Get("collection_id"); v != "" {
		if nq.collID, e = parseUUID("collection_id", v); e != nil {
			return nq, e
		}
	}
	tr, e := parseRange(queryGetter(q))
	if e != nil {
		return nq, e
	}
	nq.rest = nq.page.bound(tr)
	var cf contentFilter
	for _, f := range []struct {
		name string
		dst  *bool
	}{
		{"contains_open_tasks", &cf.openTasks}, {"contains_tasks", &cf.tasks},
		{"contains_images", &cf.images}, {"contains_files", &cf.files},
	} {
		if *f.dst, e = boolParam(q, f.name); e != nil {
			return nq, e
		}
	}
	nq.cf = cf
	nq.withContent, e = boolParam(q, "include_note_content")
	return nq, e
}

func listNotes(c *call) (any, *apiError) {
	nq, e := parseNotesQuery(c.r.URL.Query())
	if e != nil {
		return nil, e
	}
	notes := c.ks.active.by(nq.page.orderBy) // the active notes
	if nq.collID != "" {
		notes = noNotes
		if col := c.ks.colls[nq.collID]; col != nil {
			notes = col.active.by(nq.page.orderBy)
		}
	}
	var keep func(*note) bool
	if !nq.rest.isZero() || !nq.cf.none() {
		rest, cf := nq.rest, nq.cf
		keep = func(n *note) bool { return rest.admits(n.created, n.updated) && cf.admits(n) }
		nq.page.counted = c.ks.countOnce("notes " + nq.page.fingerprint)
	}
	page, next, total, e := pageOf(notes, nq.page, keep)
	if e != nil {
		return nil, e
	}
	results := make([]noteItem, 0, len(page))
	for _, n := range page {
		results = append(results, item(n, nq.withContent))
	}
	return listResp[noteItem]{RequestID: c.reqID, Results: results, Total: total, NextPage: next}, nil
}

type listResp[T any] struct {
	RequestID string  `json:"request_id"`
	Results   []T     `json:"results"`
	Total     int     `json:"total"`
	NextPage  *string `json:"next_page,omitempty"`
}

func getNote(c *call) (any, *apiError) {
	n, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	return readNoteResp{noteWithTrash: c.withTrash(n), AudioRecordingIDs: []string{}, AttachmentMetadata: []any{}}, nil
}

func updateNote(c *call) (any, *apiError) {
	n, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	var in struct {
		Content   opt[string] `json:"content"`
		Version   opt[int64]  `json:"version"`
		UpdatedAt opt[string] `json:"updated_at"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("content", in.Content); e != nil {
		return nil, e
	}
	if e := checkLen("content", in.Content.v, maxNoteContent, 0); e != nil {
		return nil, e
	}
	if e := required("version", in.Version); e != nil {
		return nil, e
	}
	if in.Version.v < 1 {
		return nil, invalid("version", "version must be at least 1")
	}
	updated, ok, e := optTime("updated_at", in.UpdatedAt, c.now)
	if e != nil {
		return nil, e
	}
	if !ok {
		updated = c.now.UTC().Truncate(time.Millisecond)
	}
	if !n.active() {
		return nil, conflict("note %s is in the trash; restore it first", n.id).with("id", n.id).with("reason", "trashed")
	}
	if in.Version.v != n.version {
		return nil, conflict("version %d is stale; the note is at version %d", in.Version.v, n.version).
			with("id", n.id).with("reason", "version_conflict").with("current_version", n.version)
	}
	c.ks.reorder(n, func() {
		n.setContent(in.Content.v)
		n.updated = updated
		n.version++
	})
	return c.withTrash(n), nil
}

func deleteNote(c *call) (any, *apiError) {
	n, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	c.ks.deleteNote(n)
	return requestIDOnly{c.reqID}, nil
}

func trashNote(c *call) (any, *apiError) {
	n, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	if n.active() {
		c.ks.reorder(n, func() { n.trashed = c.now.UTC().Truncate(time.Millisecond) })
	}
	return requestIDOnly{c.reqID}, nil
}

func restoreNote(c *call) (any, *apiError) {
	n, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	c.ks.reorder(n, func() { n.trashed = time.Time{} })
	return requestIDOnly{c.reqID}, nil
}

func setNoteCreatedAt(c *call) (any, *apiError) {
	n, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	var in struct {
		CreatedAt opt[string] `json:"created_at"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("created_at", in.CreatedAt); e != nil {
		return nil, e
	}
	t, e := parseTime("created_at", in.CreatedAt.v, c.now, true)
	if e != nil {
		return nil, e
	}
	if t.After(n.origCreated) {
		return nil, invalid("created_at", "created_at can only backdate the note (to %s or earlier)", fmtTime(n.origCreated))
	}
	if !n.active() {
		return nil, conflict("note %s is in the trash; restore it first", n.id).with("id", n.id).with("reason", "trashed")
	}
	c.ks.reorder(n, func() {
		n.created = t
		n.updated = c.now.UTC().Truncate(time.Millisecond)
	})
	return c.withTrash(n), nil
}
