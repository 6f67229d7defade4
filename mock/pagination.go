package mock

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// pageItem is one listed entity's sort key.
type pageItem struct {
	id string
	t  time.Time
}

// cursor is the opaque page token, base64url(JSON), shaped like the one in
// the spec's example. It names the last item served, so the next page starts
// strictly after it: inserts and deletions elsewhere in the order never make
// a page repeat or skip an item that stays put.
type cursor struct {
	ID          string `json:"id"`
	OrderBy     string `json:"order_by"`
	Fingerprint string `json:"request_fingerprint"`
	Value       string `json:"value"`
}

// pageQuery is one list request, as pageOf serves it.
type pageQuery struct {
	orderBy     string // "updated_at" or "created_at"
	fingerprint string // of the filters (see listFingerprint)
	page        string // the cursor, "" for the first page
	limit       int
	// Inclusive bounds on the ordered time; zero for none.
	after, before time.Time
	// counted returns the total of a filtered list by calling count, or
	// one it remembers; nil counts every time.
	counted func(count func() int) int
}

// noNotes is an empty note index, for a collection that does not exist. It
// is never written.
var noNotes = newOrderIndex(noteByUpdated)

// pageOf returns the page of x's items after the cursor (all in x's order)
// whose ordered time lies within the query's bounds and that keep admits
// (keep nil admits all), the cursor of the next page (nil at the end), and
// the number of items that match in all.
//
// It seeks to the page and walks it, so a page costs a seek plus the items
// walked: the page, and any that keep refuses. The total is the width of the
// bounds when keep is nil, and otherwise a count over the items within them
// (see pageQuery.counted).
func pageOf[T comparable](x *orderIndex[T], q pageQuery, keep func(T) bool) ([]T, *string, int, *apiError) {
	var last *pageItem
	if q.page != "" {
		var e *apiError
		if last, e = parseCursor(q.page, q.orderBy, q.fingerprint); e != nil {
			return nil, nil, 0, e
		}
	}
	start, end := 0, x.len()
	if !q.before.IsZero() {
		start = x.search(func(it pageItem) bool { return !it.t.After(q.before) })
	}
	if !q.after.IsZero() {
		end = max(start, x.search(func(it pageItem) bool { return it.t.Before(q.after) }))
	}
	total := end - start
	if keep != nil {
		count := func() int {
			n := 0
			for v := range x.between(start, end) {
				if keep(v) {
					n++
				}
			}
			return n
		}
		if q.counted != nil {
			total = q.counted(count)
		} else {
			total = count()
		}
	}
	from := start
	if last != nil {
		from = max(from, x.search(func(it pageItem) bool { return pageOrder(it, *last) > 0 }))
	}
	var out []T
	var next *string
	for v := range x.between(from, end) {
		if keep != nil && !keep(v) {
			continue
		}
		if len(out) == q.limit {
			next = newCursor(x.key(out[len(out)-1]), q.orderBy, q.fingerprint)
			break
		}
		out = append(out, v)
	}
	return out, next, total, nil
}

// parseCursor decodes a page cursor, which must have been issued for the
// same filters (fingerprint) and order.
func parseCursor(page, orderBy, fingerprint string) (*pageItem, *apiError) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(page, "="))
	var cur cursor
	if err != nil || json.Unmarshal(raw, &cur) != nil {
		return nil, badRequest("page is not a valid cursor")
	}
	if cur.Fingerprint != fingerprint || cur.OrderBy != orderBy {
		return nil, badRequest("page was issued for different filters or order_by; reuse it with the same ones")
	}
	t, err := time.Parse(time.RFC3339Nano, cur.Value)
	if err != nil {
		return nil, badRequest("page is not a valid cursor")
	}
	return &pageItem{id: cur.ID, t: t}, nil
}

// newCursor is the cursor of the page after the item last.
func newCursor(last pageItem, orderBy, fingerprint string) *string {
	b, _ := json.Marshal(cursor{ID: last.id, OrderBy: orderBy, Fingerprint: fingerprint, Value: last.t.UTC().Format(time.RFC3339Nano)})
	next := base64.RawURLEncoding.EncodeToString(b)
	return &next
}

// parseListQuery reads what the list endpoints share: limit, order_by and
// page. The fingerprint covers every other parameter but those in skip.
func parseListQuery(q url.Values, skip ...string) (pageQuery, *apiError) {
	limit, e := intParam(q, "limit", 50, 1, 100)
	if e != nil {
		return pageQuery{}, e
	}
	orderBy := q.Get("order_by")
	if orderBy == "" {
		orderBy = "updated_at"
	}
	if orderBy != "updated_at" && orderBy != "created_at" {
		return pageQuery{}, invalid("order_by", "order_by must be updated_at or created_at")
	}
	return pageQuery{orderBy: orderBy, fingerprint: listFingerprint(q, skip...), page: q.Get("page"), limit: limit}, nil
}

// bound takes the bounds tr puts on the time that orders the list as the
// query's, and returns the rest of tr.
func (pq *pageQuery) bound(tr timeRange) (rest timeRange) {
	rest = tr
	if pq.orderBy == "created_at" {
		pq.after, pq.before = tr.createdAfter, tr.createdBefore
		rest.createdAfter, rest.createdBefore = time.Time{}, time.Time{}
		return rest
	}
	pq.after, pq.before = tr.updatedAfter, tr.updatedBefore
	rest.updatedAfter, rest.updatedBefore = time.Time{}, time.Time{}
	return rest
}

// isZero reports whether tr bounds nothing.
func (tr timeRange) isZero() bool {
	return tr.createdAfter.IsZero() && tr.createdBefore.IsZero() && tr.updatedAfter.IsZero() && tr.updatedBefore.IsZero()
}
