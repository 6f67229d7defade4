package memclient

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// OrderBy is the sort key of a list (newest first). It also fixes the page
// boundaries: reuse a page cursor only with the same order and filters.
type OrderBy string

const (
	// OrderByUpdatedAt sorts by last update (the server's default).
	OrderByUpdatedAt OrderBy = "updated_at"
	// OrderByCreatedAt sorts by creation.
	OrderByCreatedAt OrderBy = "created_at"
)

// Note is a Mem note as the server returns it. Which fields are filled
// depends on the call: Get fills all of them; Create omits TrashedAt,
// AudioRecordingIDs and Attachments; Update and SetCreatedAt omit
// AudioRecordingIDs and Attachments.
type Note struct {
	// ID is the note's UUID: the path id of Get, Update, Trash and the
	// other calls on one note.
	ID    string `json:"id"`
	Title string `json:"title"` // the first line of Content
	// Content is the note's markdown body; its first line is the title.
	Content string `json:"content"`
	// CollectionIDs are the UUIDs of the collections the note is in.
	CollectionIDs []string `json:"collection_ids"`
	// AudioRecordingIDs are the UUIDs of the audio recordings attached to
	// the note (Get only).
	AudioRecordingIDs []string `json:"audio_recording_ids,omitempty"`
	// Attachments describes the PDF and image files embedded in the note
	// (Get only; wire name attachment_metadata).
	Attachments []Attachment `json:"attachment_metadata,omitempty"`
	// CreatedAt is when the note was created, or the time it was backdated
	// to (CreateNoteRequest.CreatedAt, Notes.SetCreatedAt).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the note was last modified.
	UpdatedAt time.Time `json:"updated_at"`
	// TrashedAt is when the note was moved to the trash; nil when it is
	// not in the trash.
	TrashedAt *time.Time `json:"trashed_at,omitempty"`
	// Version is the note's content version: pass it to Update.
	Version int64 `json:"version"`
}

// Attachment describes a file attached to a note (Get only). The optional
// fields are nil when the server has nothing for them.
type Attachment struct {
	// ID is the attachment's UUID (wire name attachment_id).
	ID   string `json:"attachment_id"`
	Kind string `json:"attachment_kind"` // "pdf" or "image"
	// PageCount is the number of pages of a PDF; nil for an image.
	PageCount *int `json:"page_count,omitempty"`
	// OCRText is the text read from an image.
	OCRText *string `json:"ocr_text,omitempty"`
	// Summary is a short summary of the attachment's content.
	Summary *string `json:"summary,omitempty"`
	// VisualDescription describes what an image shows.
	VisualDescription *string `json:"visual_description,omitempty"`
	// ImageType is the kind of image the server detected.
	ImageType *string `json:"image_type,omitempty"`
	// SuggestedSearch is a query the server suggests for searching within
	// the attachment.
	SuggestedSearch *string `json:"suggested_search,omitempty"`
}

// NoteItem is a note in a list or search result: metadata, a snippet, and
// the content only when IncludeContent was asked for.
type NoteItem struct {
	// ID is the note's UUID.
	ID string `json:"id"`
	// Title is the note's title, the first line of its content.
	Title string `json:"title"`
	// CollectionIDs are the UUIDs of the collections the note is in.
	CollectionIDs []string `json:"collection_ids"`
	// AudioRecordingIDs are the UUIDs of the audio recordings attached to
	// the note.
	AudioRecordingIDs []string `json:"audio_recording_ids"`
	// CreatedAt is when the note was created (or backdated to).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the note was last modified.
	UpdatedAt time.Time `json:"updated_at"`
	// Snippet is a short preview of the content for display, possibly
	// truncated; nil when the server sends none.
	Snippet *string `json:"snippet,omitempty"`
	// Content is the note's full markdown body, nil unless the call asked
	// for it (ListNotesOptions.IncludeContent,
	// SearchNotesRequest.IncludeContent).
	Content *string `json:"content,omitempty"`
}

// CreateNoteRequest is the body of Notes.Create.
type CreateNoteRequest struct {
	// Content is the markdown body (required, non-empty): at most
	// MaxNoteContent characters and MaxNoteContent UTF-8 bytes. Its first
	// line becomes the title.
	Content string `json:"content"`
	// ID is the new note's UUID. Leave it empty and the client generates
	// one, which makes the create safe to retry: the same id is sent on
	// every attempt and the server refuses a second note with it.
	ID string `json:"id,omitempty"`
	// CollectionIDs adds the note to these collections (UUIDs; ids the key
	// cannot access are ignored by the server).
	CollectionIDs []string `json:"collection_ids,omitempty"`
	// CollectionTitles adds the note to the collections with these titles
	// (case-insensitive exact match, at most MaxCollectionTitle characters
	// each; titles that match nothing are ignored).
	CollectionTitles []string `json:"collection_titles,omitempty"`
	// CreatedAt backdates the note's creation; it may not be in the
	// future. Zero sends none, and the server uses UpdatedAt if set,
	// otherwise the time it receives the call.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// UpdatedAt sets the note's last-update time; it may not be in the
	// future. Zero sends none, and the server uses the time it receives
	// the call.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Validate checks r as Notes.Create does before sending it: Content is
// required, valid UTF-8, and within MaxNoteContent characters and UTF-8
// bytes; ID and CollectionIDs are UUIDs in the 36-character form; each of
// CollectionTitles is valid UTF-8 within MaxCollectionTitle characters and
// bytes; CreatedAt and UpdatedAt, when set, are not in the future. It
// returns the *ValidationError Create would return for r (a nil r
// included), or nil. It sends nothing and spends no rate budget; Create
// runs the same check.
func (r *CreateNoteRequest) Validate() error {
	if r == nil {
		return errNilRequest()
	}
	var v validator
	v.required("content", r.Content)
	v.size("content", r.Content, MaxNoteContent, MaxNoteContent)
	v.optUUID("id", r.ID)
	for _, id := range r.CollectionIDs {
		v.uuid("collection_ids", id)
	}
	for _, t := range r.CollectionTitles {
		v.size("collection_titles", t, MaxCollectionTitle, MaxCollectionTitle)
	}
	v.timestamp("created_at", r.CreatedAt)
	v.timestamp("updated_at", r.UpdatedAt)
	return v.result()
}

// Create creates a note (POST /v2/notes; 1 request and 1 complexity token per
// attempt; counts against the plan's note quota).
//
// It is safe to retry: without req.ID the client generates a UUID and sends
// it on every attempt. When an attempt's outcome was unknown (a lost
// response, a 5xx) and a later attempt gets 409 "already exists", the first
// attempt did create the note: Create reads it and returns it, provided its
// content is what was sent. When retries run out after such an attempt, the
// error is an *OutcomeUnknownError carrying the id. If ctx ends while an
// attempt is in flight, the error is the context's and the note may exist:
// set req.ID yourself when you need to check afterwards. req is not
// modified.
func (s *NotesService) Create(ctx context.Context, req *CreateNoteRequest) (*Note, *Response, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	body := *req
	if body.ID == "" {
		body.ID = uuid.NewString()
	}
	r := &request{method: http.MethodPost, path: "/v2/notes", body: &body}
	var n Note
	resp, err := s.c.do(ctx, r, &n)
	if err != nil {
		if got, gresp, ok := s.resolveCreate(ctx, r, err, body.ID, body.Content); ok {
			return got, gresp, nil
		}
		return nil, resp, unknownCreate(r, body.ID, err)
	}
	return &n, resp, nil
}

// unknownCreate wraps the final error of a create in an
// *OutcomeUnknownError when an attempt may have created the resource and
// the error does not say otherwise (it is not a 4xx answer).
func unknownCreate(r *request, id string, err error) error {
	var api *APIError
	if !r.ambiguous || (errors.As(err, &api) && api.StatusCode < 500) {
		return err
	}
	var ou *OutcomeUnknownError
	if errors.As(err, &ou) {
		return err
	}
	return &OutcomeUnknownError{Op: r.op(), ID: id, Err: err}
}

// resolveCreate handles a 409 after an attempt whose outcome was unknown:
// if the stored note has the content sent, that attempt created it.
func (s *NotesService) resolveCreate(ctx context.Context, r *request, err error, id, content string) (*Note, *Response, bool) {
	var ce *ConflictError
	if !r.ambiguous || !errors.As(err, &ce) || ce.Reason == ReasonVersionConflict || ce.Reason == ReasonTrashed {
		return nil, nil, false
	}
	got, resp, gerr := s.Get(ctx, id)
	if gerr != nil || got.Content != content {
		return nil, nil, false
	}
	s.c.log.DebugContext(ctx, "mem create resolved: an earlier attempt created the note", "id", id)
	return got, settledBy(r, resp), true
}

// Get reads a note, trashed or not (GET /v2/notes/{id}; 1 request and 1
// complexity token per attempt). A missing note is a *NotFoundError.
func (s *NotesService) Get(ctx context.Context, id string) (*Note, *Response, error) {
	if err := validIDs(uuidArg{"note_id", id}); err != nil {
		return nil, nil, err
	}
	var n Note
	resp, err := s.c.do(ctx, &request{method: http.MethodGet, path: "/v2/notes/" + id}, &n)
	if err != nil {
		return nil, resp, err
	}
	return &n, resp, nil
}

// ListNotesOptions filters and pages Notes.List and Notes.All. The zero
// value lists every active note, most recently updated first.
type ListNotesOptions struct {
	// Limit is the page size, 1 to MaxListLimit; 0 means the server's
	// default (50).
	Limit int
	// OrderBy is the sort key; "" means OrderByUpdatedAt.
	OrderBy OrderBy
	// CollectionID keeps notes of one collection (a UUID).
	CollectionID string
	// Time bounds, inclusive; zero means unbounded.
	CreatedAfter, CreatedBefore, UpdatedAfter, UpdatedBefore time.Time
	// Content filters, OR'd together; all false means no filter.
	ContainsOpenTasks, ContainsTasks, ContainsImages, ContainsFiles bool
	// IncludeContent returns each note's full content in NoteItem.Content.
	IncludeContent bool
	// Page is the cursor of the page to read (NoteList.NextPage of the
	// previous page, with the same filters and order); "" for the first.
	Page string
}

// Validate checks o as Notes.List does before sending: Limit is 0 or 1 to
// MaxListLimit, OrderBy is "" or a known order, CollectionID (when set) is a
// UUID in the 36-character form, and the time bounds have years JSON can
// carry. It returns the *ValidationError List would return for o, or nil (a
// nil o is the zero value, which is valid). It sends nothing and spends no
// rate budget; List, and so each page of All, runs the same check.
func (o *ListNotesOptions) Validate() error {
	if o == nil {
		return nil
	}
	var v validator
	v.limit("limit", o.Limit, MaxListLimit)
	v.orderBy(o.OrderBy)
	v.optUUID("collection_id", o.CollectionID)
	v.filterTimes(o.CreatedAfter, o.CreatedBefore, o.UpdatedAfter, o.UpdatedBefore)
	return v.result()
}

// query is o as query parameters; o has passed Validate.
func (o *ListNotesOptions) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.OrderBy != "" {
		q.Set("order_by", string(o.OrderBy))
	}
	if o.CollectionID != "" {
		q.Set("collection_id", o.CollectionID)
	}
	setTimeRange(q, o.CreatedAfter, o.CreatedBefore, o.UpdatedAfter, o.UpdatedBefore)
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"contains_open_tasks", o.ContainsOpenTasks}, {"contains_tasks", o.ContainsTasks},
		{"contains_images", o.ContainsImages}, {"contains_files", o.ContainsFiles},
		{"include_note_content", o.IncludeContent},
	} {
		if f.on {
			q.Set(f.name, "true")
		}
	}
	if o.Page != "" {
		q.Set("page", o.Page)
	}
	return q
}

// setTimeRange sets the query parameters of the filter bounds that are set.
func setTimeRange(q url.Values, createdAfter, createdBefore, updatedAfter, updatedBefore time.Time) {
	for _, b := range []struct {
		name string
		t    time.Time
	}{
		{"filter_by_created_after", createdAfter}, {"filter_by_created_before", createdBefore},
		{"filter_by_updated_after", updatedAfter}, {"filter_by_updated_before", updatedBefore},
	} {
		if !b.t.IsZero() {
			q.Set(b.name, b.t.Format(time.RFC3339Nano))
		}
	}
}

// NoteList is one page of Notes.List.
type NoteList struct {
	// Results are the page's notes, in the order asked for
	// (ListNotesOptions.OrderBy).
	Results []NoteItem `json:"results"`
	// Total is the number of notes matching the filters, all pages together.
	Total int `json:"total"`
	// NextPage is the cursor of the next page; "" on the last page.
	NextPage string `json:"next_page"`
}

// List reads one page of notes (GET /v2/notes; 1 request and 1 complexity
// token per attempt). Use All to walk every page.
func (s *NotesService) List(ctx context.Context, opts *ListNotesOptions) (*NoteList, *Response, error) {
	if opts == nil {
		opts = &ListNotesOptions{}
	}
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	q := opts.query()
	var l NoteList
	resp, err := s.c.do(ctx, &request{method: http.MethodGet, path: "/v2/notes", query: q}, &l)
	if err != nil {
		return nil, resp, err
	}
	return &l, resp, nil
}

// All iterates over every note matching opts, page after page (one List
// call, so 1 request and 1 complexity token, per page; opts.Limit sets the
// page size, use MaxListLimit to spend the fewest tokens). opts.Page, if
// set, is where it starts. The iteration stops after yielding an error, or
// when the caller breaks out of the loop.
func (s *NotesService) All(ctx context.Context, opts *ListNotesOptions) iter.Seq2[NoteItem, error] {
	var o ListNotesOptions
	if opts != nil {
		o = *opts
	}
	return pages(func(page string) ([]NoteItem, string, error) {
		o.Page = page
		l, _, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return l.Results, l.NextPage, nil
	}, o.Page)
}

// UpdateNoteRequest is the body of Notes.Update.
type UpdateNoteRequest struct {
	// Content is the note's complete new markdown body (not a patch), at
	// most MaxNoteContent characters; its first line becomes the title.
	// An empty Content is sent as is (Mem allows it, unlike for a create)
	// and empties the note, its title included.
	Content string `json:"content"`
	// Version is the note's current version (from Get, Create or the last
	// Update), at least 1. A stale version is a *ConflictError with Reason
	// ReasonVersionConflict.
	Version int64 `json:"version"`
	// UpdatedAt sets the update time; zero means now. Not in the future.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Validate checks req as Notes.Update does before sending it: Content is
// valid UTF-8 within MaxNoteContent characters, Version is at least 1, and
// UpdatedAt, when set, is not in the future. It returns the
// *ValidationError Update would return for req (a nil req included), or
// nil; Update checks the note id first, which Validate cannot see. It
// sends nothing and spends no rate budget; Update runs the same check.
func (req *UpdateNoteRequest) Validate() error {
	if req == nil {
		return errNilRequest()
	}
	var v validator
	v.size("content", req.Content, MaxNoteContent, 0)
	if req.Version < 1 {
		v.fail("version", "is %d; want the note's current version (at least 1)", req.Version)
	}
	v.timestamp("updated_at", req.UpdatedAt)
	return v.result()
}

// Update replaces a note's whole content with req.Content (PATCH
// /v2/notes/{id}; 1 request and 1 complexity token per attempt). An empty
// Content is not refused: it empties the note, its title included.
//
// The version makes it safe to retry: when an attempt's outcome was unknown
// and a later attempt is refused as stale, Update reads the note and, if it
// now holds exactly the content sent at a newer version, returns it as the
// result.
func (s *NotesService) Update(ctx context.Context, id string, req *UpdateNoteRequest) (*Note, *Response, error) {
	if req == nil {
		return nil, nil, errNilRequest()
	}
	if err := validIDs(uuidArg{"note_id", id}); err != nil {
		return nil, nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	body := *req
	r := &request{method: http.MethodPatch, path: "/v2/notes/" + id, body: &body}
	var n Note
	resp, err := s.c.do(ctx, r, &n)
	if err != nil {
		var ce *ConflictError
		if r.ambiguous && errors.As(err, &ce) && ce.Reason == ReasonVersionConflict {
			if got, gresp, gerr := s.Get(ctx, id); gerr == nil && got.Content == body.Content && got.Version > body.Version {
				s.c.log.DebugContext(ctx, "mem update resolved: an earlier attempt applied it", "id", id)
				return got, settledBy(r, gresp), nil
			}
		}
		return nil, resp, err
	}
	return &n, resp, nil
}

// Delete deletes a note permanently (DELETE /v2/notes/{id}; 1 request and 1
// complexity token per attempt). If an attempt's outcome was unknown and a
// retry finds the note gone, the delete succeeded.
func (s *NotesService) Delete(ctx context.Context, id string) (*Response, error) {
	return s.c.idempotentDelete(ctx, "note_id", id, "/v2/notes/"+id)
}

// Trash moves a note to the trash, from where Restore brings it back (POST
// /v2/notes/{id}/trash; 1 request and 1 complexity token per attempt).
func (s *NotesService) Trash(ctx context.Context, id string) (*Response, error) {
	return s.c.simple(ctx, http.MethodPost, "/v2/notes/"+id+"/trash", nil, uuidArg{"note_id", id})
}

// Restore takes a note out of the trash (POST /v2/notes/{id}/restore; 1
// request and 1 complexity token per attempt).
func (s *NotesService) Restore(ctx context.Context, id string) (*Response, error) {
	return s.c.simple(ctx, http.MethodPost, "/v2/notes/"+id+"/restore", nil, uuidArg{"note_id", id})
}

// SetCreatedAt backdates a note's creation time (PATCH
// /v2/notes/{id}/created-at; 1 request and 1 complexity token per attempt).
// t is required, may not be in the future, nor later than the note's
// original creation; a trashed note must be restored first (else a
// *ConflictError with Reason ReasonTrashed).
func (s *NotesService) SetCreatedAt(ctx context.Context, id string, t time.Time) (*Note, *Response, error) {
	var v validator
	v.uuid("note_id", id)
	if t.IsZero() {
		v.fail("created_at", "is required")
	}
	v.timestamp("created_at", t)
	if err := v.result(); err != nil {
		return nil, nil, err
	}
	body := struct {
		CreatedAt time.Time `json:"created_at"`
	}{t}
	var n Note
	resp, err := s.c.do(ctx, &request{method: http.MethodPatch, path: "/v2/notes/" + id + "/created-at", body: &body}, &n)
	if err != nil {
		return nil, resp, err
	}
	return &n, resp, nil
}

// SearchNotesRequest is a note search: the query and filters go in the
// body, the paging (Limit, Offset, SnapshotID) in the query string.
type SearchNotesRequest struct {
	// Query is the search text (required, non-empty).
	Query string
	// CollectionIDs keeps notes of these collections (UUIDs).
	CollectionIDs []string
	// Content filters, OR'd together; all false means no filter.
	ContainsOpenTasks, ContainsTasks, ContainsImages, ContainsFiles bool
	// Time bounds, inclusive; zero means unbounded.
	CreatedAfter, CreatedBefore, UpdatedAfter, UpdatedBefore time.Time
	// IncludeContent returns each note's full content.
	IncludeContent bool

	// Limit is the page size, 1 to MaxSearchLimit; 0 means the server's
	// default (20).
	Limit int
	// Offset is where the page starts in the result set (0 for the first).
	Offset int
	// SnapshotID is the result set of an earlier page (its
	// NoteSearchResult.SnapshotID), required when Offset > 0, with the
	// same query and filters.
	SnapshotID string
}

// Validate checks req as Notes.Search does before sending it: Query is
// required; CollectionIDs and SnapshotID (when set) are UUIDs in the
// 36-character form; the time bounds have years JSON can carry; Limit is 0
// or 1 to MaxSearchLimit; Offset is not negative, and past 0 needs a
// SnapshotID. It returns the *ValidationError Search would return for req
// (a nil req included), or nil. It sends nothing and spends no rate
// budget; Search, and so each page of SearchAll, runs the same check.
func (req *SearchNotesRequest) Validate() error {
	if req == nil {
		return errNilRequest()
	}
	var v validator
	v.required("query", req.Query)
	for _, id := range req.CollectionIDs {
		v.uuid("filter_by_collection_ids", id)
	}
	v.filterTimes(req.CreatedAfter, req.CreatedBefore, req.UpdatedAfter, req.UpdatedBefore)
	v.limit("limit", req.Limit, MaxSearchLimit)
	if req.Offset < 0 {
		v.fail("offset", "is negative")
	}
	v.optUUID("snapshot_id", req.SnapshotID)
	if req.Offset > 0 && req.SnapshotID == "" {
		v.fail("snapshot_id", "is required when offset > 0")
	}
	return v.result()
}

type searchNotesBody struct {
	Query                     string     `json:"query"`
	FilterByCollectionIDs     []string   `json:"filter_by_collection_ids,omitempty"`
	FilterByContainsOpenTasks bool       `json:"filter_by_contains_open_tasks,omitempty"`
	FilterByContainsTasks     bool       `json:"filter_by_contains_tasks,omitempty"`
	FilterByContainsImages    bool       `json:"filter_by_contains_images,omitempty"`
	FilterByContainsFiles     bool       `json:"filter_by_contains_files,omitempty"`
	FilterByCreatedAfter      time.Time  `json:"filter_by_created_after,omitzero"`
	FilterByCreatedBefore     time.Time  `json:"filter_by_created_before,omitzero"`
	FilterByUpdatedAfter      time.Time  `json:"filter_by_updated_after,omitzero"`
	FilterByUpdatedBefore     time.Time  `json:"filter_by_updated_before,omitzero"`
	Config                    *searchCfg `json:"config,omitempty"`
}

type searchCfg struct {
	IncludeNoteContent bool `json:"include_note_content"`
}

// NoteSearchResult is one page of Notes.Search.
type NoteSearchResult struct {
	// Results are the page's notes, best match first.
	Results []NoteItem `json:"results"`
	// Total is the size of the result set, capped at MaxSearchResults:
	// search looks at a bounded window of best matches, so a Total of
	// MaxSearchResults means that more notes may match than the search
	// can return.
	Total int `json:"total"`
	// Limit is the page size the server applied.
	Limit int `json:"limit"`
	// Offset is the position of the page's first note in the result set
	// (0 for the first page).
	Offset int `json:"offset"`
	// HasNextPage reports whether a page at Offset+Limit, with the same
	// SnapshotID, holds more notes.
	HasNextPage bool `json:"has_next_page"`
	// SnapshotID names this result set; pass it with the next Offset.
	SnapshotID string `json:"snapshot_id"`
}

// Search runs a note search and returns one page (POST /v2/notes/search; 1
// request and 1 complexity token per attempt). Use SearchAll to walk every
// page of one result set.
//
// A search reaches at most the best MaxSearchResults (100) matches, over
// all its pages, and its Total is capped at that number too: a Total of
// MaxSearchResults means more notes may match. Notes.All has no such cap:
// it lists every note that passes its filters (collection, time bounds,
// content kinds), though it cannot match text.
func (s *NotesService) Search(ctx context.Context, req *SearchNotesRequest) (*NoteSearchResult, *Response, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if req.Offset > 0 {
		q.Set("offset", strconv.Itoa(req.Offset))
	}
	if req.SnapshotID != "" {
		q.Set("snapshot_id", req.SnapshotID)
	}
	body := searchNotesBody{
		Query: req.Query, FilterByCollectionIDs: req.CollectionIDs,
		FilterByContainsOpenTasks: req.ContainsOpenTasks, FilterByContainsTasks: req.ContainsTasks,
		FilterByContainsImages: req.ContainsImages, FilterByContainsFiles: req.ContainsFiles,
		FilterByCreatedAfter: req.CreatedAfter, FilterByCreatedBefore: req.CreatedBefore,
		FilterByUpdatedAfter: req.UpdatedAfter, FilterByUpdatedBefore: req.UpdatedBefore,
	}
	if req.IncludeContent {
		body.Config = &searchCfg{IncludeNoteContent: true}
	}
	var res NoteSearchResult
	resp, err := s.c.do(ctx, &request{method: http.MethodPost, path: "/v2/notes/search", query: q, body: &body}, &res)
	if err != nil {
		return nil, resp, err
	}
	return &res, resp, nil
}

// SearchAll iterates over the results of a search, page after page of one
// snapshot (one Search call, so 1 request and 1 complexity token, per page;
// req.Limit sets the page size, MaxSearchLimit spends the fewest). It starts
// at req.Offset (with req.SnapshotID if that is > 0). The iteration stops
// after yielding an error, or when the caller breaks out of the loop.
//
// Like Search, it reaches at most the best MaxSearchResults (100) matches,
// and it ends there without an error even when more notes match. To tell,
// run Search for the first page and compare its Total with
// MaxSearchResults. Notes.All has no such cap: it lists every note that
// passes its filters (collection, time bounds, content kinds), though it
// cannot match text.
func (s *NotesService) SearchAll(ctx context.Context, req *SearchNotesRequest) iter.Seq2[NoteItem, error] {
	return func(yield func(NoteItem, error) bool) {
		if req == nil {
			yield(NoteItem{}, errNilRequest())
			return
		}
		r := *req
		for {
			res, _, err := s.Search(ctx, &r)
			if err != nil {
				yield(NoteItem{}, err)
				return
			}
			for _, it := range res.Results {
				if !yield(it, nil) {
					return
				}
			}
			step := res.Limit
			if step <= 0 {
				step = len(res.Results)
			}
			if !res.HasNextPage || step == 0 {
				return
			}
			r.Offset, r.SnapshotID = res.Offset+step, res.SnapshotID
		}
	}
}

// RelatedNote is a note similar to another (Notes.Related).
type RelatedNote struct {
	// ID is the related note's UUID.
	ID string `json:"id"`
	// Title is the related note's title.
	Title   string `json:"title"`
	Preview string `json:"preview"` // truncated markdown of the content
	// CollectionIDs are the UUIDs of the note's collections that the API
	// key can access.
	CollectionIDs []string `json:"collection_ids"`
	// Collections describes the same collections as CollectionIDs.
	Collections []RelatedCollection `json:"collections"`
	// CreatedAt is when the note was created (or backdated to).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the note was last modified.
	UpdatedAt time.Time `json:"updated_at"`
	Score     *float64  `json:"score,omitempty"` // similarity, when given
	// Snippet is a short preview for display; nil when the server sends
	// none.
	Snippet *string `json:"snippet,omitempty"`
}

// RelatedCollection is a collection of a RelatedNote.
type RelatedCollection struct {
	// ID is the collection's UUID.
	ID string `json:"id"`
	// Title is the collection's title.
	Title string `json:"title"`
	// Description is nil when the collection has none.
	Description *string `json:"description"`
	// NoteCount is the number of active (not trashed) notes in the
	// collection.
	NoteCount int `json:"note_count"`
	// IsShared reports whether the collection is shared with other
	// accounts.
	IsShared bool `json:"is_shared"`
	// CreatedAt is when the collection was created (or backdated to).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the collection was last modified.
	UpdatedAt time.Time `json:"updated_at"`
}

// RelatedNotes is the result of Notes.Related.
type RelatedNotes struct {
	// Results are the related notes, most similar first.
	Results []RelatedNote `json:"results"`
	// Total is the number of notes in Results (the result is not paged).
	Total int `json:"total"`
}

// Related finds notes similar to a note (GET /v2/notes/{id}/related-notes; 1
// request and 1 complexity token per attempt). limit is 1 to MaxRelatedLimit,
// or 0 for the server's default (10). The result is not paged.
func (s *NotesService) Related(ctx context.Context, id string, limit int) (*RelatedNotes, *Response, error) {
	var v validator
	v.uuid("note_id", id)
	v.limit("limit", limit, MaxRelatedLimit)
	if err := v.result(); err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var res RelatedNotes
	resp, err := s.c.do(ctx, &request{method: http.MethodGet, path: "/v2/notes/" + id + "/related-notes", query: q}, &res)
	if err != nil {
		return nil, resp, err
	}
	return &res, resp, nil
}
