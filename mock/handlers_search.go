package mock

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// Note search (a bounded, snapshotted window of plain case-insensitive
// matches) and related notes (Jaccard similarity of word sets).

// searchReq is the body of POST /v2/notes/search.
type searchReq struct {
	Query                     opt[string]   `json:"query"`
	FilterByCollectionIDs     opt[[]string] `json:"filter_by_collection_ids"`
	FilterByContainsOpenTasks opt[bool]     `json:"filter_by_contains_open_tasks"`
	FilterByContainsTasks     opt[bool]     `json:"filter_by_contains_tasks"`
	FilterByContainsImages    opt[bool]     `json:"filter_by_contains_images"`
	FilterByContainsFiles     opt[bool]     `json:"filter_by_contains_files"`
	dateFilters
	Config opt[struct {
		IncludeNoteContent opt[bool] `json:"include_note_content"`
	}] `json:"config"`
}

// dateFilters are the bounds on creation and update times that both
// searches take in their bodies.
type dateFilters struct {
	FilterByCreatedAfter  opt[string] `json:"filter_by_created_after"`
	FilterByCreatedBefore opt[string] `json:"filter_by_created_before"`
	FilterByUpdatedAfter  opt[string] `json:"filter_by_updated_after"`
	FilterByUpdatedBefore opt[string] `json:"filter_by_updated_before"`
}

// timeRange parses the bounds that are set.
func (d dateFilters) timeRange() (timeRange, *apiError) {
	body := map[string]opt[string]{
		"filter_by_created_after": d.FilterByCreatedAfter, "filter_by_created_before": d.FilterByCreatedBefore,
		"filter_by_updated_after": d.FilterByUpdatedAfter, "filter_by_updated_before": d.FilterByUpdatedBefore,
	}
	return parseRange(func(n string) (string, bool) { o := body[n]; return o.v, o.has() })
}

// hit is a search match: the id of what matched, its score, and its update
// time, which breaks ties.
type hit struct {
	id      string
	score   int
	updated time.Time
}

// rank sorts hits by score, then most recently updated, then id.
func rank(hits []hit) {
	slices.SortFunc(hits, func(a, b hit) int {
		if a.score != b.score {
			return b.score - a.score
		}
		if c := b.updated.Compare(a.updated); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

type searchResp struct {
	RequestID   string     `json:"request_id"`
	Results     []noteItem `json:"results"`
	Total       int        `json:"total"`
	Limit       int        `json:"limit"`
	Offset      int        `json:"offset"`
	HasNextPage bool       `json:"has_next_page"`
	SnapshotID  string     `json:"snapshot_id"`
}

// terms splits a query into lower-case words.
// Only the first maxTerms distinct words count, so a huge query cannot make
// a search cost words × notes × content.
func terms(q string) []string {
	var out []string
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if !slices.Contains(out, w) {
			out = append(out, w)
			if len(out) == maxTerms {
				break
			}
		}
	}
	return out
}

// maxTerms bounds the words of a search query that are matched.
const maxTerms = 16

// matchScore is 0 unless every term occurs in the title or content; then
// 3 × title occurrences + content occurrences.
func matchScore(n *note, ts []string) int {
	score, _ := termScore(n.title, n.content, ts)
	return score
}

// termScore scores a title and a text against lower-case terms: ok only if
// every term occurs in one of them, and then 3 × the title's occurrences
// plus the text's.
func termScore(title, text string, ts []string) (score int, ok bool) {
	title, text = strings.ToLower(title), strings.ToLower(text)
	for _, t := range ts {
		ti, ci := strings.Count(title, t), strings.Count(text, t)
		if ti+ci == 0 {
			return 0, false
		}
		score += 3*ti + ci
	}
	return score, true
}

// noteSearch is a parsed POST /v2/notes/search.
type noteSearch struct {
	limit, offset int
	snapshotID    string // "" for a new search
	terms         []string
	times         timeRange
	collections   []string
	content       contentFilter
	withContent   bool
}

// fingerprint identifies the search a snapshot belongs to: its terms and
// filters, not its page.
func (q *noteSearch) fingerprint() string {
	fp, _ := json.Marshal([]any{q.terms, q.collections, q.content.openTasks, q.content.tasks, q.content.images, q.content.files,
		q.times.createdAfter, q.times.createdBefore, q.times.updatedAfter, q.times.updatedBefore})
	return string(fp)
}

func searchNotes(c *call) (any, *apiError) {
	q, e := parseNoteSearch(c)
	if e != nil {
		return nil, e
	}
	var ids []string
	switch {
	case q.snapshotID != "":
		snap, ok := c.ks.snapshots[q.snapshotID]
		if !ok {
			return nil, notFound("search snapshot", q.snapshotID)
		}
		if snap.fingerprint != q.fingerprint() {
			return nil, badRequest("snapshot_id belongs to a different search; send the same query and filters")
		}
		ids = snap.ids
	case q.offset > 0:
		return nil, invalid("snapshot_id", "snapshot_id is required when offset > 0")
	default:
		ids = c.ks.matchNotes(q)
		q.snapshotID = uuid.NewString()
		c.ks.saveSnapshot(q.snapshotID, searchSnapshot{fingerprint: q.fingerprint(), ids: ids})
	}
	results := []noteItem{}
	for i := q.offset; i < len(ids) && i < q.offset+q.limit; i++ {
		if n := c.ks.notes[ids[i]]; n != nil { // deleted since the snapshot: skipped
			results = append(results, item(n, q.withContent))
		}
	}
	return searchResp{
		RequestID: c.reqID, Results: results, Total: len(ids), Limit: q.limit, Offset: q.offset,
		HasNextPage: q.offset+q.limit < len(ids), SnapshotID: q.snapshotID,
	}, nil
}

// parseNoteSearch reads a note search's query parameters and body.
func parseNoteSearch(c *call) (*noteSearch, *apiError) {
	params := c.r.URL.Query()
	q := &noteSearch{}
	var e *apiError
	if q.limit, e = intParam(params, "limit", 20, 1, 50); e != nil {
		return nil, e
	}
	if q.offset, e = intParam(params, "offset", 0, 0, math.MaxInt32); e != nil {
		return nil, e
	}
	if v := params.Get("snapshot_id"); v != "" {
		if q.snapshotID, e = parseUUID("snapshot_id", v); e != nil {
			return nil, e
		}
	}
	var in searchReq
	if e := decodeBody(c.body, &in); e != nil {
		return nil, e
	}
	if e := required("query", in.Query); e != nil {
		return nil, e
	}
	if q.terms = terms(in.Query.v); len(q.terms) == 0 {
		return nil, invalid("query", "query must contain a non-whitespace character")
	}
	if q.times, e = in.timeRange(); e != nil {
		return nil, e
	}
	for _, id := range in.FilterByCollectionIDs.v {
		id, e := parseUUID("filter_by_collection_ids", id)
		if e != nil {
			return nil, e
		}
		q.collections = append(q.collections, id)
	}
	q.content = contentFilter{
		openTasks: in.FilterByContainsOpenTasks.v, tasks: in.FilterByContainsTasks.v,
		images: in.FilterByContainsImages.v, files: in.FilterByContainsFiles.v,
	}
	q.withContent = in.Config.v.IncludeNoteContent.v
	return q, nil
}

// matchNotes returns the ids of the notes q matches, best first, at most
// searchWindow of them.
func (ks *keyState) matchNotes(q *noteSearch) []string {
	var hits []hit
	for _, n := range ks.notes {
		if !n.active() || !q.times.admits(n.created, n.updated) || !q.content.admits(n) {
			continue
		}
		if len(q.collections) > 0 && !slices.ContainsFunc(n.collections, func(id string) bool { return slices.Contains(q.collections, id) }) {
			continue
		}
		if s := matchScore(n, q.terms); s > 0 {
			hits = append(hits, hit{id: n.id, score: s, updated: n.updated})
		}
	}
	rank(hits)
	var ids []string
	for _, h := range hits[:min(len(hits), searchWindow)] {
		ids = append(ids, h.id)
	}
	return ids
}

type relatedCollection struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description *string `json:"description"`
	NoteCount   int     `json:"note_count"`
	IsShared    bool    `json:"is_shared"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

type relatedItem struct {
	ID            string              `json:"id"`
	Title         string              `json:"title"`
	Preview       string              `json:"preview"`
	CollectionIDs []string            `json:"collection_ids"`
	Collections   []relatedCollection `json:"collections"`
	CreatedAt     string              `json:"created_at"`
	UpdatedAt     string              `json:"updated_at"`
	Score         float64             `json:"score"`
	Snippet       *string             `json:"snippet,omitempty"`
}

type relatedResp struct {
	RequestID string        `json:"request_id"`
	Results   []relatedItem `json:"results"`
	Total     int           `json:"total"`
}

// words is the set of lower-case words of three or more letters or digits.
func words(s string) map[string]struct{} {
	set := map[string]struct{}{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(w)) >= 3 {
			set[w] = struct{}{}
		}
	}
	return set
}

// jaccard is |a ∩ b| / |a ∪ b|, the related-notes similarity.
func jaccard(a, b map[string]struct{}) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if _, ok := b[w]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

func relatedNotes(c *call) (any, *apiError) {
	limit, e := intParam(c.r.URL.Query(), "limit", 10, 1, 20)
	if e != nil {
		return nil, e
	}
	src, e := c.noteParam()
	if e != nil {
		return nil, e
	}
	sw := words(src.content)
	type hit struct {
		n     *note
		score float64
	}
	var hits []hit
	for _, n := range c.ks.notes {
		if n == src || !n.active() {
			continue
		}
		if s := jaccard(sw, words(n.content)); s > 0 {
			hits = append(hits, hit{n, math.Round(s*1e4) / 1e4})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.n.id, b.n.id)
	})
	results := []relatedItem{}
	for _, h := range hits[:min(len(hits), limit)] {
		n := h.n
		cols := []relatedCollection{}
		for _, cid := range n.collections {
			if col := c.ks.colls[cid]; col != nil {
				cols = append(cols, relatedCollection{
					ID: col.id, Title: col.title, Description: col.description,
					NoteCount: c.ks.noteCount(col), CreatedAt: fmtTime(col.created), UpdatedAt: fmtTime(col.updated),
				})
			}
		}
		results = append(results, relatedItem{
			ID: n.id, Title: n.title, Preview: truncateRunes(n.content, previewRunes),
			CollectionIDs: nonNil(slices.Clone(n.collections)), Collections: cols,
			CreatedAt: fmtTime(n.created), UpdatedAt: fmtTime(n.updated),
			Score: h.score, Snippet: snippetOf(n),
		})
	}
	return relatedResp{RequestID: c.reqID, Results: results, Total: len(results)}, nil
}
