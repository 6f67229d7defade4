package memclient

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Collection is a Mem collection. NoteCount is filled by Get, List and
// Search, not by Create and Update.
type Collection struct {
	// ID is the collection's UUID: the path id of Get, Update, Delete and
	// the membership calls.
	ID string `json:"id"`
	// Title is the collection's title.
	Title string `json:"title"`
	// Description is nil when the collection has none.
	Description *string `json:"description"`
	NoteCount   int     `json:"note_count"` // active notes in the collection
	// CreatedAt is when the collection was created (or backdated to).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the collection was last modified.
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateCollectionRequest is the body of Collections.Create.
type CreateCollectionRequest struct {
	// Title is required: at most MaxCollectionTitle characters and
	// MaxCollectionTitle UTF-8 bytes.
	Title string `json:"title"`
	// Description is optional ("" sends none): at most MaxCollectionDesc
	// characters and UTF-8 bytes.
	Description string `json:"description,omitempty"`
	// ID is the new collection's UUID. Leave it empty and the client
	// generates one, which makes the create safe to retry.
	ID string `json:"id,omitempty"`
	// CreatedAt backdates the collection's creation; it may not be in the
	// future. Zero sends none, and the server uses UpdatedAt if set,
	// otherwise the time it receives the call.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// UpdatedAt sets the collection's last-update time; it may not be in
	// the future. Zero sends none, and the server uses CreatedAt if set,
	// otherwise the time it receives the call.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Validate checks req as Collections.Create does before sending it: Title
// is required, and Title and Description are valid UTF-8 within their
// limits (MaxCollectionTitle, MaxCollectionDesc; in characters and UTF-8
// bytes); ID, when set, is a UUID in the 36-character form; CreatedAt and
// UpdatedAt, when set, are not in the future. It returns the
// *ValidationError Create would return for req (a nil req included), or
// nil. It sends nothing and spends no rate budget; Create runs the same
// check.
func (req *CreateCollectionRequest) Validate() error {
	if req == nil {
		return errNilRequest()
	}
	var v validator
	v.required("title", req.Title)
	v.size("title", req.Title, MaxCollectionTitle, MaxCollectionTitle)
	v.size("description", req.Description, MaxCollectionDesc, MaxCollectionDesc)
	v.optUUID("id", req.ID)
	v.timestamp("created_at", req.CreatedAt)
	v.timestamp("updated_at", req.UpdatedAt)
	return v.result()
}

// Create creates a collection (POST /v2/collections; 1 request and 1
// complexity token per attempt). Like Notes.Create it is safe to retry: the
// client sends the same id on every attempt, and a 409 after an attempt
// whose outcome was unknown returns the collection that attempt created (if
// its title and description are the ones sent); when retries run out after
// such an attempt, the error is an *OutcomeUnknownError carrying the id.
// req is not modified.
func (s *CollectionsService) Create(ctx context.Context, req *CreateCollectionRequest) (*Collection, *Response, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	body := *req
	if body.ID == "" {
		body.ID = uuid.NewString()
	}
	r := &request{method: http.MethodPost, path: "/v2/collections", body: &body}
	var col Collection
	resp, err := s.c.do(ctx, r, &col)
	if err != nil {
		var ce *ConflictError
		if r.ambiguous && errors.As(err, &ce) {
			got, gresp, gerr := s.Get(ctx, body.ID)
			if gerr == nil && got.Title == body.Title && derefString(got.Description) == body.Description {
				s.c.log.DebugContext(ctx, "mem create resolved: an earlier attempt created the collection", "id", body.ID)
				return got, settledBy(r, gresp), nil
			}
		}
		return nil, resp, unknownCreate(r, body.ID, err)
	}
	return &col, resp, nil
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Get reads a collection's metadata, without its notes (GET
// /v2/collections/{id}; 1 request and 1 complexity token per attempt). List
// its notes with Notes.All and ListNotesOptions.CollectionID.
func (s *CollectionsService) Get(ctx context.Context, id string) (*Collection, *Response, error) {
	if err := validIDs(uuidArg{"collection_id", id}); err != nil {
		return nil, nil, err
	}
	var col Collection
	resp, err := s.c.do(ctx, &request{method: http.MethodGet, path: "/v2/collections/" + id}, &col)
	if err != nil {
		return nil, resp, err
	}
	return &col, resp, nil
}

// ListCollectionsOptions filters and pages Collections.List and
// Collections.All. The zero value lists every collection, most recently
// updated first.
type ListCollectionsOptions struct {
	// Limit is the page size, 1 to MaxListLimit; 0 means the server's
	// default (50).
	Limit int
	// OrderBy is the sort key; "" means OrderByUpdatedAt.
	OrderBy OrderBy
	// Time bounds, inclusive; zero means unbounded.
	CreatedAfter, CreatedBefore, UpdatedAfter, UpdatedBefore time.Time
	// Page is the cursor of the page to read; "" for the first.
	Page string
}

// Validate checks o as Collections.List does before sending: Limit is 0 or
// 1 to MaxListLimit, OrderBy is "" or a known order, and the time bounds
// have years JSON can carry. It returns the *ValidationError List would
// return for o, or nil (a nil o is the zero value, which is valid). It
// sends nothing and spends no rate budget; List, and so each page of All,
// runs the same check.
func (o *ListCollectionsOptions) Validate() error {
	if o == nil {
		return nil
	}
	var v validator
	v.limit("limit", o.Limit, MaxListLimit)
	v.orderBy(o.OrderBy)
	v.filterTimes(o.CreatedAfter, o.CreatedBefore, o.UpdatedAfter, o.UpdatedBefore)
	return v.result()
}

// CollectionList is one page of Collections.List.
type CollectionList struct {
	// Results are the page's collections, in the order asked for
	// (ListCollectionsOptions.OrderBy).
	Results  []Collection `json:"results"`
	Total    int          `json:"total"`     // all pages together
	NextPage string       `json:"next_page"` // "" on the last page
}

// List reads one page of collections (GET /v2/collections; 1 request and 1
// complexity token per attempt). Use All to walk every page.
func (s *CollectionsService) List(ctx context.Context, opts *ListCollectionsOptions) (*CollectionList, *Response, error) {
	if opts == nil {
		opts = &ListCollectionsOptions{}
	}
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	setTimeRange(q, opts.CreatedAfter, opts.CreatedBefore, opts.UpdatedAfter, opts.UpdatedBefore)
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.OrderBy != "" {
		q.Set("order_by", string(opts.OrderBy))
	}
	if opts.Page != "" {
		q.Set("page", opts.Page)
	}
	var l CollectionList
	resp, err := s.c.do(ctx, &request{method: http.MethodGet, path: "/v2/collections", query: q}, &l)
	if err != nil {
		return nil, resp, err
	}
	return &l, resp, nil
}

// All iterates over every collection matching opts, page after page (one
// List call, so 1 request and 1 complexity token, per page; opts.Limit sets
// the page size, use MaxListLimit to spend the fewest tokens). It stops
// after yielding an error, or when the caller breaks out of the loop.
func (s *CollectionsService) All(ctx context.Context, opts *ListCollectionsOptions) iter.Seq2[Collection, error] {
	var o ListCollectionsOptions
	if opts != nil {
		o = *opts
	}
	return pages(func(page string) ([]Collection, string, error) {
		o.Page = page
		l, _, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return l.Results, l.NextPage, nil
	}, o.Page)
}

// UpdateCollectionRequest is the body of Collections.Update. Nil fields are
// left unchanged.
type UpdateCollectionRequest struct {
	// Title renames the collection (at most MaxCollectionTitle characters
	// and bytes; not empty).
	Title *string `json:"title,omitempty"`
	// Description replaces the description (at most MaxCollectionDesc
	// characters and bytes); a pointer to "" clears it.
	Description *string `json:"description,omitempty"`
	// UpdatedAt sets the update time; zero means now. Not in the future.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Validate checks req as Collections.Update does before sending it: a
// Title, when set, is not empty, and Title and Description, when set, are
// valid UTF-8 within their limits (MaxCollectionTitle, MaxCollectionDesc;
// in characters and UTF-8 bytes); UpdatedAt, when set, is not in the
// future. It returns the *ValidationError Update would return for req (a
// nil req included), or nil; Update checks the collection id first, which
// Validate cannot see. It sends nothing and spends no rate budget; Update
// runs the same check.
func (req *UpdateCollectionRequest) Validate() error {
	if req == nil {
		return errNilRequest()
	}
	var v validator
	if req.Title != nil {
		v.required("title", *req.Title)
		v.size("title", *req.Title, MaxCollectionTitle, MaxCollectionTitle)
	}
	if req.Description != nil {
		v.size("description", *req.Description, MaxCollectionDesc, MaxCollectionDesc)
	}
	v.timestamp("updated_at", req.UpdatedAt)
	return v.result()
}

// Update changes a collection's title or description (PATCH
// /v2/collections/{id}; 1 request and 1 complexity token per attempt).
func (s *CollectionsService) Update(ctx context.Context, id string, req *UpdateCollectionRequest) (*Collection, *Response, error) {
	if req == nil {
		return nil, nil, errNilRequest()
	}
	if err := validIDs(uuidArg{"collection_id", id}); err != nil {
		return nil, nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	body := *req
	var col Collection
	resp, err := s.c.do(ctx, &request{method: http.MethodPatch, path: "/v2/collections/" + id, body: &body}, &col)
	if err != nil {
		return nil, resp, err
	}
	return &col, resp, nil
}

// Delete deletes a collection permanently; its notes stay (DELETE
// /v2/collections/{id}; 1 request and 1 complexity token per attempt). If
// an attempt's outcome was unknown and a retry finds the collection gone,
// the delete succeeded.
func (s *CollectionsService) Delete(ctx context.Context, id string) (*Response, error) {
	return s.c.idempotentDelete(ctx, "collection_id", id, "/v2/collections/"+id)
}

// SearchCollectionsRequest is the body of Collections.Search. Every field
// is optional: without a query the server returns a bounded general set.
type SearchCollectionsRequest struct {
	// Query is the text matched against titles and descriptions; "" sends
	// none.
	Query string `json:"query,omitempty"`
	// Time bounds, inclusive; zero means unbounded.
	CreatedAfter, CreatedBefore, UpdatedAfter, UpdatedBefore time.Time `json:"-"`
}

// Validate checks req as Collections.Search does before sending it: the
// time bounds have years JSON can carry. It returns the *ValidationError
// Search would return for req, or nil (a nil req searches with no filter,
// which is valid). It sends nothing and spends no rate budget; Search runs
// the same check.
func (req *SearchCollectionsRequest) Validate() error {
	if req == nil {
		return nil
	}
	var v validator
	v.filterTimes(req.CreatedAfter, req.CreatedBefore, req.UpdatedAfter, req.UpdatedBefore)
	return v.result()
}

// CollectionSearchResult is the result of Collections.Search (not paged).
type CollectionSearchResult struct {
	// Results are the matching collections, best match first.
	Results []Collection `json:"results"`
	Total   int          `json:"total"` // the number returned
}

// Search searches collections by title and description (POST
// /v2/collections/search; 1 request and 1 complexity token per attempt).
// The result is one bounded, unpaged set. req may be nil.
func (s *CollectionsService) Search(ctx context.Context, req *SearchCollectionsRequest) (*CollectionSearchResult, *Response, error) {
	if req == nil {
		req = &SearchCollectionsRequest{}
	}
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	body := struct {
		Query                 string    `json:"query,omitempty"`
		FilterByCreatedAfter  time.Time `json:"filter_by_created_after,omitzero"`
		FilterByCreatedBefore time.Time `json:"filter_by_created_before,omitzero"`
		FilterByUpdatedAfter  time.Time `json:"filter_by_updated_after,omitzero"`
		FilterByUpdatedBefore time.Time `json:"filter_by_updated_before,omitzero"`
	}{req.Query, req.CreatedAfter, req.CreatedBefore, req.UpdatedAfter, req.UpdatedBefore}
	var res CollectionSearchResult
	resp, err := s.c.do(ctx, &request{method: http.MethodPost, path: "/v2/collections/search", body: &body}, &res)
	if err != nil {
		return nil, resp, err
	}
	return &res, resp, nil
}

// AddNote adds a note to a collection (PUT
// /v2/collections/{collection}/notes/{note}; 1 request and 1 complexity
// token per attempt). Adding a member again is harmless, so it is retried
// freely. A trashed note is a *ConflictError with Reason ReasonTrashed.
func (s *CollectionsService) AddNote(ctx context.Context, collectionID, noteID string) (*Response, error) {
	return s.c.simple(ctx, http.MethodPut, "/v2/collections/"+collectionID+"/notes/"+noteID, nil,
		uuidArg{"collection_id", collectionID}, uuidArg{"note_id", noteID})
}

// RemoveNote removes a note from a collection; the note stays (DELETE
// /v2/collections/{collection}/notes/{note}; 1 request and 1 complexity
// token per attempt).
func (s *CollectionsService) RemoveNote(ctx context.Context, collectionID, noteID string) (*Response, error) {
	return s.c.simple(ctx, http.MethodDelete, "/v2/collections/"+collectionID+"/notes/"+noteID, nil,
		uuidArg{"collection_id", collectionID}, uuidArg{"note_id", noteID})
}

// MoveNote adds a note to the target collection, then removes it from the
// source (POST /v2/collections/{source}/notes/{note}/move; 1 request and 1
// complexity token per attempt). If an attempt's outcome was unknown and a
// retry finds the note no longer in the source, the client checks that it
// is in the target and then reports success.
func (s *CollectionsService) MoveNote(ctx context.Context, sourceCollectionID, noteID, targetCollectionID string) (*Response, error) {
	if err := validIDs(uuidArg{"source_collection_id", sourceCollectionID}, uuidArg{"note_id", noteID},
		uuidArg{"target_collection_id", targetCollectionID}); err != nil {
		return nil, err
	}
	body := struct {
		Target string `json:"target_collection_id"`
	}{targetCollectionID}
	r := &request{method: http.MethodPost, path: "/v2/collections/" + sourceCollectionID + "/notes/" + noteID + "/move", body: &body}
	resp, err := s.c.do(ctx, r, nil)
	var ce *ConflictError
	if err != nil && r.ambiguous && errors.As(err, &ce) && ce.Reason == ReasonNotInSource {
		n, nresp, gerr := s.c.Notes.Get(ctx, noteID)
		if gerr == nil && slices.Contains(n.CollectionIDs, targetCollectionID) && !slices.Contains(n.CollectionIDs, sourceCollectionID) {
			return settledBy(r, nresp), nil
		}
	}
	return resp, err
}
