package mock

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
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
	FilterByCreatedAfter      opt[string]   `json:"filter_by_created_after"`
	FilterByCreatedBefore     opt[string]   `json:"filter_by_created_before"`
	FilterByUpdatedAfter      opt[string]   `json:"filter_by_updated_after"`
	FilterByUpdatedBefore     opt[string]   `json:"filter_by_updated_before"`
	Config                    opt[struct {
		IncludeNoteContent opt[bool] `json:"include_note_content"`
	}] `json:"config"`
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
	title, content := strings.ToLower(n.title), strings.ToLower(n.content)
	score := 0
	for _, t := range ts {
		ti, ci := strings.Count(title, t), strings.Count(content, t)
		if ti+ci == 0 {
			return 0
		}
		score += 3*ti + ci
	}
	return score
}

func searchNotes(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	limit, e := intParam(q, "limit", 20, 1, 50)
	if e != nil {
		return nil, e
	}
	offset, e := intParam(q, "offset", 0, 0, math.MaxInt32)
	if e != nil {
		return nil, e
	}
	snapID := ""
	if v := q.Get("snapshot_id"); v != "" {
		if snapID, e = parseUUID("snapshot_id", v); e != nil {
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
	ts := terms(in.Query.v)
	if len(ts) == 0 {
		return nil, invalid("query", "query must contain a non-whitespace character")
	}
	body := map[string]opt[string]{
		"filter_by_created_after": in.FilterByCreatedAfter, "filter_by_created_before": in.FilterByCreatedBefore,
		"filter_by_updated_after": in.FilterByUpdatedAfter, "filter_by_updated_before": in.FilterByUpdatedBefore,
	}
	tr, e := parseRange(func(n string) (string, bool) { o := body[n]; return o.v, o.has() })
	if e != nil {
		return nil, e
	}
	var collIDs []string
	collSet := map[string]bool{}
	for _, id := range in.FilterByCollectionIDs.v {
		id, e := parseUUID("filter_by_collection_ids", id)
		if e != nil {
			return nil, e
		}
		collIDs = append(collIDs, id)
		collSet[id] = true
	}
	cf := contentFilter{
		openTasks: in.FilterByContainsOpenTasks.v, tasks: in.FilterByContainsTasks.v,
		images: in.FilterByContainsImages.v, files: in.FilterByContainsFiles.v,
	}
	fpb, _ := json.Marshal([]any{ts, collIDs, cf.openTasks, cf.tasks, cf.images, cf.files,
		tr.createdAfter, tr.createdBefore, tr.updatedAfter, tr.updatedBefore})
	fp := string(fpb)

	var ids []string
	switch {
	case snapID != "":
		snap, ok := c.ks.snapshots[snapID]
		if !ok {
			return nil, notFound("search snapshot", snapID)
		}
		if snap.fingerprint != fp {
			return nil, badRequest("snapshot_id belongs to a different search; send the same query and filters")
		}
		ids = snap.ids
	case offset > 0:
		return nil, invalid("snapshot_id", "snapshot_id is required when offset > 0")
	default:
		type hit struct {
			n     *note
			score int
		}
		var hits []hit
		for _, n := range c.ks.notes {
			if !n.active() || !tr.admits(n.created, n.updated) || !cf.admits(n) {
				continue
			}
			if len(collIDs) > 0 && !slices.ContainsFunc(n.collections, func(id string) bool { return collSet[id] }) {
				continue
			}
			if s := matchScore(n, ts); s > 0 {
				hits = append(hits, hit{n, s})
			}
		}
		slices.SortFunc(hits, func(a, b hit) int {
			if a.score != b.score {
				return b.score - a.score
			}
			if c := b.n.updated.Compare(a.n.updated); c != 0 {
				return c
			}
			return strings.Compare(a.n.id, b.n.id)
		})
		for _, h := range hits[:min(len(hits), searchWindow)] {
			ids = append(ids, h.n.id)
		}
		snapID = uuid.NewString()
		c.ks.saveSnapshot(snapID, searchSnapshot{fingerprint: fp, ids: ids})
	}
	withContent := in.Config.v.IncludeNoteContent.v
	results := []noteItem{}
	for i := offset; i < len(ids) && i < offset+limit; i++ {
		if n := c.ks.notes[ids[i]]; n != nil { // deleted since the snapshot: skipped
			results = append(results, item(n, withContent))
		}
	}
	return searchResp{
		RequestID: c.reqID, Results: results, Total: len(ids), Limit: limit, Offset: offset,
		HasNextPage: offset+limit < len(ids), SnapshotID: snapID,
	}, nil
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
