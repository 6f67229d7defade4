package mock

import (
	"net/http"
	"strings"
	"time"
)

type collectionResp struct {
	RequestID   string  `json:"request_id"`
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description *string `json:"description"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

type collectionCounted struct {
	RequestID   string  `json:"request_id,omitempty"`
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description *string `json:"description"`
	NoteCount   int     `json:"note_count"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

func (c *call) collResp(col *collection) collectionResp {
	return collectionResp{
		RequestID: c.reqID, ID: col.id, Title: col.title, Description: col.description,
		CreatedAt: fmtTime(col.created), UpdatedAt: fmtTime(col.updated),
	}
}

func (c *call) counted(col *collection, reqID string) collectionCounted {
	return collectionCounted{
		RequestID: reqID, ID: col.id, Title: col.title, Description: col.description,
		NoteCount: c.ks.noteCount(col), CreatedAt: fmtTime(col.created), UpdatedAt: fmtTime(col.updated),
	}
}

// collParam resolves the collection id path parameter named field.
func (c *call) collParam(field string) (*collection, *apiError) {
	id, e := parseUUID(field, c.r.PathValue(field))
	if e != nil {
		return nil, e
	}
	col := c.ks.colls[id]
	if col == nil {
		return nil, notFound("collection", id)
	}
	return col, nil
}

func createCollection(c *call) (any, *apiError) {
	var in struct {
		Title       opt[string] `json:"title"`
		Description opt[string] `json:"description"`
		ID          opt[string] `json:"id"`
		CreatedAt   opt[string] `json:"created_at"`
		UpdatedAt   opt[string] `json:"updated_at"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("title", in.Title); e != nil {
		return nil, e
	}
	if e := checkLen("title", in.Title.v, maxCollTitle, maxCollTitle); e != nil {
		return nil, e
	}
	if e := checkLen("description", in.Description.v, maxCollDesc, maxCollDesc); e != nil {
		return nil, e
	}
	id, created, updated, e := c.createFields(in.ID, in.CreatedAt, in.UpdatedAt)
	if e != nil {
		return nil, e
	}
	if _, dup := c.ks.colls[id]; dup {
		return nil, conflict("a collection with id %s already exists", id).with("id", id).with("reason", "duplicate_id")
	}
	col := &collection{id: id, title: in.Title.v, created: created, updated: updated}
	if in.Description.has() {
		d := in.Description.v
		col.description = &d
	}
	c.ks.addCollection(col)
	return c.collResp(col), nil
}

func listCollections(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	pq, e := parseListQuery(q, "limit", "page")
	if e != nil {
		return nil, e
	}
	tr, e := parseRange(queryGetter(q))
	if e != nil {
		return nil, e
	}
	rest := pq.bound(tr)
	colls := c.ks.collsByUpdated
	if pq.orderBy == "created_at" {
		colls = c.ks.collsByCreated
	}
	var keep func(*collection) bool
	if !rest.isZero() {
		rest := rest // the closure's own, so that the common case allocates none
		keep = func(col *collection) bool { return rest.admits(col.created, col.updated) }
		pq.counted = c.ks.countOnce("collections " + pq.fingerprint)
	}
	page, next, total, e := pageOf(colls, pq, keep)
	if e != nil {
		return nil, e
	}
	results := make([]collectionCounted, 0, len(page))
	for _, col := range page {
		results = append(results, c.counted(col, ""))
	}
	return listResp[collectionCounted]{RequestID: c.reqID, Results: results, Total: total, NextPage: next}, nil
}

func getCollection(c *call) (any, *apiError) {
	col, e := c.collParam("collection_id")
	if e != nil {
		return nil, e
	}
	return c.counted(col, c.reqID), nil
}

func updateCollection(c *call) (any, *apiError) {
	col, e := c.collParam("collection_id")
	if e != nil {
		return nil, e
	}
	var in struct {
		Title       opt[string] `json:"title"`
		Description opt[string] `json:"description"`
		UpdatedAt   opt[string] `json:"updated_at"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := checkLen("title", in.Title.v, maxCollTitle, maxCollTitle); e != nil {
		return nil, e
	}
	if e := checkLen("description", in.Description.v, maxCollDesc, maxCollDesc); e != nil {
		return nil, e
	}
	updated, ok, e := optTime("updated_at", in.UpdatedAt, c.now)
	if e != nil {
		return nil, e
	}
	if !ok {
		updated = c.now.UTC().Truncate(time.Millisecond)
	}
	if in.Title.has() {
		col.title = in.Title.v
	}
	switch {
	case in.Description.has() && in.Description.v != "":
		d := in.Description.v
		col.description = &d
	case in.Description.has(), in.Description.null: // the spec: "" clears it
		col.description = nil
	}
	c.ks.reorderCollection(col, func() { col.updated = updated })
	return c.collResp(col), nil
}

func deleteCollection(c *call) (any, *apiError) {
	col, e := c.collParam("collection_id")
	if e != nil {
		return nil, e
	}
	c.ks.deleteCollection(col)
	return requestIDOnly{c.reqID}, nil
}

func searchCollections(c *call) (any, *apiError) {
	var in struct {
		Query opt[string] `json:"query"`
		dateFilters
	}
	// Every field is optional, so an empty body is an empty search.
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if e := decodeBody(c.body, &in); e != nil {
			return nil, e
		}
	}
	tr, e := in.timeRange()
	if e != nil {
		return nil, e
	}
	ts := terms(in.Query.v)
	var hits []hit
	for _, col := range c.ks.colls {
		if !tr.admits(col.created, col.updated) {
			continue
		}
		desc := ""
		if col.description != nil {
			desc = *col.description
		}
		if score, ok := termScore(col.title, desc, ts); ok {
			hits = append(hits, hit{id: col.id, score: 1 + score, updated: col.updated})
		}
	}
	rank(hits)
	results := []collectionCounted{}
	for _, h := range hits[:min(len(hits), collSearchBound)] {
		results = append(results, c.counted(c.ks.colls[h.id], ""))
	}
	return listResp[collectionCounted]{RequestID: c.reqID, Results: results, Total: len(results)}, nil
}

// membership resolves the collection and note of a membership call.
func (c *call) membership(collField string) (*collection, *note, *apiError) {
	col, e := c.collParam(collField)
	if e != nil {
		return nil, nil, e
	}
	n, e := c.noteParam()
	if e != nil {
		return nil, nil, e
	}
	return col, n, nil
}

func addNoteToCollection(c *call) (any, *apiError) {
	col, n, e := c.membership("collection_id")
	if e != nil {
		return nil, e
	}
	if !n.active() {
		return nil, conflict("note %s is in the trash; restore it first", n.id).with("id", n.id).with("reason", "trashed")
	}
	c.ks.addMember(col, n)
	return requestIDOnly{c.reqID}, nil
}

func removeNoteFromCollection(c *call) (any, *apiError) {
	col, n, e := c.membership("collection_id")
	if e != nil {
		return nil, e
	}
	c.ks.removeMember(col, n) // idempotent: removing a non-member is a no-op
	return requestIDOnly{c.reqID}, nil
}

func moveNote(c *call) (any, *apiError) {
	src, n, e := c.membership("source_collection_id")
	if e != nil {
		return nil, e
	}
	var in struct {
		Target opt[string] `json:"target_collection_id"`
	}
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("target_collection_id", in.Target); e != nil {
		return nil, e
	}
	tid, e := parseUUID("target_collection_id", in.Target.v)
	if e != nil {
		return nil, e
	}
	dst := c.ks.colls[tid]
	if dst == nil {
		return nil, notFound("collection", tid)
	}
	if !n.active() {
		return nil, conflict("note %s is in the trash; restore it first", n.id).with("id", n.id).with("reason", "trashed")
	}
	if !n.inCollection(src.id) {
		return nil, errorf(http.StatusConflict, ErrTypeConflict, "note %s is not in collection %s", n.id, src.id).
			with("id", n.id).with("reason", "not_in_source")
	}
	c.ks.addMember(dst, n)
	if dst != src {
		c.ks.removeMember(src, n)
	}
	return requestIDOnly{c.reqID}, nil
}
