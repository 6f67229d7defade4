package mock

import (
	"encoding/base64"
	"encoding/json"
	"slices"
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

// before reports whether a sorts before b: newest first, then by id.
func before(a, b pageItem) bool {
	if c := a.t.Compare(b.t); c != 0 {
		return c > 0
	}
	return a.id < b.id
}

// paginate sorts items newest first and returns the page after the cursor
// page (if any) and the cursor of the next page (nil at the end).
func paginate(items []pageItem, orderBy, fingerprint, page string, limit int) ([]pageItem, *string, *apiError) {
	slices.SortFunc(items, func(a, b pageItem) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	start := 0
	if page != "" {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(page, "="))
		var cur cursor
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			return nil, nil, badRequest("page is not a valid cursor")
		}
		if cur.Fingerprint != fingerprint || cur.OrderBy != orderBy {
			return nil, nil, badRequest("page was issued for different filters or order_by; reuse it with the same ones")
		}
		t, err := time.Parse(time.RFC3339Nano, cur.Value)
		if err != nil {
			return nil, nil, badRequest("page is not a valid cursor")
		}
		last := pageItem{id: cur.ID, t: t}
		start, _ = slices.BinarySearchFunc(items, last, func(a, b pageItem) int {
			if before(a, b) || (a.id == b.id && a.t.Equal(b.t)) {
				return -1
			}
			return 1
		})
	}
	end := min(start+limit, len(items))
	out := items[start:end]
	if end >= len(items) {
		return out, nil, nil
	}
	last := items[end-1]
	b, _ := json.Marshal(cursor{ID: last.id, OrderBy: orderBy, Fingerprint: fingerprint, Value: last.t.UTC().Format(time.RFC3339Nano)})
	next := base64.RawURLEncoding.EncodeToString(b)
	return out, &next, nil
}
