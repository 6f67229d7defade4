package mock

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// sortedKeys is what an index over items must hold: their keys, sorted by
// brute force.
func sortedKeys[T any](items []T, key func(T) pageItem) []pageItem {
	out := make([]pageItem, 0, len(items))
	for _, v := range items {
		out = append(out, key(v))
	}
	slices.SortFunc(out, pageOrder)
	return out
}

// indexKeys lists x's keys in its order, checking its block invariants.
func indexKeys[T comparable](t *testing.T, x *orderIndex[T]) []pageItem {
	t.Helper()
	out := []pageItem{}
	n := 0
	for _, blk := range x.blocks {
		require.NotEmpty(t, blk, "an empty block")
		require.LessOrEqual(t, len(blk), x.maxBlock, "an overfull block")
		if len(x.blocks) > 1 {
			require.GreaterOrEqual(t, len(blk), x.maxBlock/4, "an underfull block")
		}
		n += len(blk)
	}
	require.Equal(t, n, x.len(), "len does not count the blocks' items")
	for v := range x.between(0, x.len()) {
		out = append(out, x.key(v))
	}
	require.Len(t, out, n)
	return out
}

type testItem struct {
	id string
	t  time.Time
}

func testItemKey(v *testItem) pageItem { return pageItem{id: v.id, t: v.t} }

// TestOrderIndexMatchesSort drives an index with tiny blocks through random
// inserts, removals and re-keyings over few distinct times (many ties), and
// after each compares its order, its searches and its ranges with a brute
// force sort of the same items.
func TestOrderIndexMatchesSort(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 1))
		x := newOrderIndex(testItemKey)
		x.maxBlock = 1 + int(seed) // 1 to 10: splits and merges all the time
		var live []*testItem
		randTime := func() time.Time { return base.Add(time.Duration(rng.IntN(8)) * time.Minute) }
		for step := range 400 {
			switch op := rng.IntN(10); {
			case op < 5 || len(live) == 0:
				v := &testItem{id: fmt.Sprintf("%04d", rng.IntN(10000)), t: randTime()}
				if slices.ContainsFunc(live, func(w *testItem) bool { return w.id == v.id }) {
					continue
				}
				x.insert(v)
				live = append(live, v)
			case op < 8:
				i := rng.IntN(len(live))
				require.True(t, x.remove(live[i]))
				live = slices.Delete(live, i, i+1)
			default:
				v := live[rng.IntN(len(live))]
				require.True(t, x.remove(v))
				v.t = randTime()
				x.insert(v)
			}
			want := sortedKeys(live, testItemKey)
			require.Equal(t, want, indexKeys(t, x), "seed %d step %d", seed, step)

			// search: a random time bound and a random cursor.
			bound := randTime()
			require.Equal(t, countWhile(want, func(it pageItem) bool { return it.t.After(bound) }),
				x.search(func(it pageItem) bool { return !it.t.After(bound) }))
			cur := pageItem{id: fmt.Sprintf("%04d", rng.IntN(10000)), t: randTime()}
			require.Equal(t, countWhile(want, func(it pageItem) bool { return pageOrder(it, cur) <= 0 }),
				x.search(func(it pageItem) bool { return pageOrder(it, cur) > 0 }))

			// between: a random range.
			from, to := rng.IntN(len(want)+1), rng.IntN(len(want)+1)
			var got []pageItem
			for v := range x.between(from, to) {
				got = append(got, x.key(v))
			}
			if from >= to {
				require.Empty(t, got)
			} else {
				require.Equal(t, want[from:to], got)
			}
		}
		// Removing something absent, or with a changed key, is refused.
		require.False(t, x.remove(&testItem{id: "absent", t: base}))
		if len(live) > 0 {
			v := live[0]
			v.t = v.t.Add(time.Hour)
			require.False(t, x.remove(v))
		}
	}
}

// countWhile counts the leading items of s for which f holds.
func countWhile(s []pageItem, f func(pageItem) bool) int {
	for i, it := range s {
		if !f(it) {
			return i
		}
	}
	return len(s)
}

// checkOrders compares every list order the key keeps with a brute force
// sort of its notes and collections.
func checkOrders(t *testing.T, ks *keyState) {
	t.Helper()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var active []*note
	for _, n := range ks.notes {
		if n.active() {
			active = append(active, n)
		}
	}
	require.Equal(t, sortedKeys(active, noteByUpdated), indexKeys(t, ks.active.byUpdated))
	require.Equal(t, sortedKeys(active, noteByCreated), indexKeys(t, ks.active.byCreated))
	var colls []*collection
	for _, c := range ks.colls {
		colls = append(colls, c)
		var members []*note
		for _, n := range active {
			if slices.Contains(n.collections, c.id) {
				members = append(members, n)
			}
		}
		require.Equal(t, sortedKeys(members, noteByUpdated), indexKeys(t, c.active.byUpdated), "collection %s", c.id)
		require.Equal(t, sortedKeys(members, noteByCreated), indexKeys(t, c.active.byCreated), "collection %s", c.id)
	}
	require.Equal(t, sortedKeys(colls, collByUpdated), indexKeys(t, ks.collsByUpdated))
	require.Equal(t, sortedKeys(colls, collByCreated), indexKeys(t, ks.collsByCreated))
}

// randomWrites makes n random writes through the API: note creates (some in
// collections, some with tasks or images), updates, trashes, restores,
// deletes, created_at backdates, collection creates, updates and deletes,
// and membership changes, with timestamps drawn from a few instants so that
// many tie. Writes the API refuses (a trashed note, say) are fine. When focus
// names a collection, half the writes to a collection go to it.
func randomWrites(t *testing.T, s *Server, rng *rand.Rand, n int, focus string) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := func() string { return base.Add(time.Duration(rng.IntN(6)) * time.Minute).Format(time.RFC3339) }
	contents := []string{"plain", "# Tasks\n- [ ] open", "# Done\n- [x] done", "# Pic\n![a](b.png)", "mixed\n- [ ] a\n![x](y)"}
	var notes, colls []string
	members := map[string][]string{} // collection id → note ids
	for _, n := range s.Notes(DefaultKey) {
		notes = append(notes, n.ID)
		for _, c := range n.CollectionIDs {
			members[c] = append(members[c], n.ID)
		}
	}
	for _, c := range s.Collections(DefaultKey) {
		colls = append(colls, c.ID)
	}
	pick := func(ids []string) string {
		if focus != "" && len(ids) > 0 && slices.Contains(ids, focus) && rng.IntN(2) == 0 {
			return focus
		}
		if len(ids) == 0 || rng.IntN(20) == 0 {
			return uuid.NewString() // unknown
		}
		return ids[rng.IntN(len(ids))]
	}
	// member picks a note in collection c, mostly, so that membership
	// changes mostly change something.
	member := func(c string) string {
		if m := members[c]; len(m) > 0 && rng.IntN(4) != 0 {
			return m[rng.IntN(len(m))]
		}
		return pick(notes)
	}
	for range n {
		var method, target, body string
		switch op := rng.IntN(14); op {
		case 0, 1, 2, 3:
			id := uuid.NewString()
			notes = append(notes, id)
			var cs []string
			for range rng.IntN(3) {
				cs = append(cs, `"`+pick(colls)+`"`)
			}
			method, target = "POST", "/v2/notes"
			body = fmt.Sprintf(`{"id":%q,"content":%q,"created_at":%q,"updated_at":%q,"collection_ids":[%s]}`,
				id, contents[rng.IntN(len(contents))], ts(), ts(), strings.Join(cs, ","))
		case 4:
			id := pick(notes)
			version := 1
			if ns := s.Notes(DefaultKey); len(ns) > 0 {
				for _, nt := range ns {
					if nt.ID == id {
						version = int(nt.Version)
					}
				}
			}
			method, target = "PATCH", "/v2/notes/"+id
			body = fmt.Sprintf(`{"content":%q,"version":%d,"updated_at":%q}`, contents[rng.IntN(len(contents))], version, ts())
		case 5:
			method, target = "POST", "/v2/notes/"+pick(notes)+"/trash"
		case 6:
			method, target = "POST", "/v2/notes/"+pick(notes)+"/restore"
		case 7:
			method, target = "DELETE", "/v2/notes/"+pick(notes)
		case 8:
			method, target = "PATCH", "/v2/notes/"+pick(notes)+"/created-at"
			body = fmt.Sprintf(`{"created_at":%q}`, ts())
		case 9:
			id := uuid.NewString()
			colls = append(colls, id)
			method, target = "POST", "/v2/collections"
			body = fmt.Sprintf(`{"id":%q,"title":"c","created_at":%q,"updated_at":%q}`, id, ts(), ts())
		case 10:
			method, target = "PATCH", "/v2/collections/"+pick(colls)
			body = fmt.Sprintf(`{"updated_at":%q}`, ts())
		case 11:
			method, target = "DELETE", "/v2/collections/"+pick(colls)
		case 12:
			c := pick(colls)
			method, target = "PUT", "/v2/collections/"+c+"/notes/"+pick(notes)
			if rng.IntN(2) == 0 {
				method, target = "DELETE", "/v2/collections/"+c+"/notes/"+member(c)
			}
		case 13:
			c := pick(colls)
			method, target = "POST", "/v2/collections/"+c+"/notes/"+member(c)+"/move"
			body = fmt.Sprintf(`{"target_collection_id":%q}`, pick(colls))
		}
		status, _ := serveRaw(t, s, method, target, body)
		require.NotEqual(t, 500, status)
	}
}

// refNotes lists, by brute force from the stored notes, the ids a note list
// with these filters must return, in order.
func refNotes(notes []Note, orderBy, collID string, tr timeRange, cf contentFilter) []string {
	var keys []pageItem
	for _, n := range notes {
		if n.TrashedAt != nil || (collID != "" && !slices.Contains(n.CollectionIDs, collID)) ||
			!tr.admits(n.CreatedAt, n.UpdatedAt) {
			continue
		}
		open, tasks, images := taskFlags(n.Content)
		if !cf.none() && !(cf.openTasks && open) && !(cf.tasks && tasks) && !(cf.images && images) {
			continue
		}
		t := n.UpdatedAt
		if orderBy == "created_at" {
			t = n.CreatedAt
		}
		keys = append(keys, pageItem{id: n.ID, t: t})
	}
	slices.SortFunc(keys, func(a, b pageItem) int {
		if !a.t.Equal(b.t) {
			if a.t.After(b.t) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return ids
}

// pageAll follows a list's cursors from target to the end and returns the
// ids served, in order, and the totals each page reported.
func pageAll(t *testing.T, s *Server, target string, limit int) (ids []string, totals []int) {
	t.Helper()
	page := ""
	for {
		u := fmt.Sprintf("%s&limit=%d", target, limit)
		if page != "" {
			u += "&page=" + page
		}
		status, m := serveRaw(t, s, "GET", u, "")
		require.Equal(t, 200, status, "%s: %v", u, m)
		for _, r := range m["results"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		totals = append(totals, int(m["total"].(float64)))
		next, ok := m["next_page"].(string)
		if !ok {
			return ids, totals
		}
		page = next
	}
}

// TestListsMatchBruteForce makes random writes and after each batch pages
// through random note and collection lists (orders, collection, time range
// and content filters, page sizes), comparing every page and total with a
// brute force filter and sort of what is stored, and the key's list orders
// with a brute force sort.
func TestListsMatchBruteForce(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 2))
		s := MustNew(Config{Limits: benchLimits})
		for batch := range 8 {
			randomWrites(t, s, rng, 150, "")
			checkOrders(t, s.keys[DefaultKey])
			notes := s.Notes(DefaultKey)
			colls := s.Collections(DefaultKey)
			for range 8 {
				orderBy := []string{"updated_at", "created_at"}[rng.IntN(2)]
				q := "/v2/notes?order_by=" + orderBy
				collID := ""
				switch rng.IntN(4) {
				case 0:
					collID = uuid.NewString()
				case 1:
					if len(colls) > 0 {
						collID = colls[rng.IntN(len(colls))].ID
					}
				}
				if collID != "" {
					q += "&collection_id=" + collID
				}
				var tr timeRange
				for _, f := range []struct {
					name string
					dst  *time.Time
				}{
					{"filter_by_created_after", &tr.createdAfter}, {"filter_by_created_before", &tr.createdBefore},
					{"filter_by_updated_after", &tr.updatedAfter}, {"filter_by_updated_before", &tr.updatedBefore},
				} {
					if rng.IntN(4) == 0 {
						*f.dst = base.Add(time.Duration(rng.IntN(6)) * time.Minute)
						q += "&" + f.name + "=" + f.dst.Format(time.RFC3339)
					}
				}
				var cf contentFilter
				switch rng.IntN(6) {
				case 0:
					cf.openTasks, q = true, q+"&contains_open_tasks=true"
				case 1:
					cf.tasks, cf.images, q = true, true, q+"&contains_tasks=true&contains_images=true"
				}
				want := refNotes(notes, orderBy, collID, tr, cf)
				got, totals := pageAll(t, s, q, 1+rng.IntN(9))
				require.Equal(t, want, nonNil(got), "seed %d batch %d: %s", seed, batch, q)
				for _, total := range totals {
					require.Equal(t, len(want), total, "seed %d batch %d: %s", seed, batch, q)
				}
			}
			checkCollectionList(t, s, rng, notes, colls)
		}
	}
}

// TestFilteredTotalsFollowWrites lists a filtered list (whose total the key
// counts once until its next write) right before and right after each of
// many random writes, and compares its total with a brute force each time:
// every kind of write must make the key count again.
func TestFilteredTotalsFollowWrites(t *testing.T) {
	early := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // admits every note
	mid := time.Date(2024, 1, 1, 0, 2, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 7))
	s := MustNew(Config{Limits: benchLimits})
	randomWrites(t, s, rng, 100, "")
	for step := range 800 {
		collID := uuid.NewString()
		if colls := s.Collections(DefaultKey); len(colls) > 0 {
			collID = colls[rng.IntN(len(colls))].ID
		}
		kind := step % 4
		check := func() {
			notes, colls := s.Notes(DefaultKey), s.Collections(DefaultKey)
			q, want := "", 0
			switch kind {
			case 0: // every active note, counted one by one
				q = "/v2/notes?filter_by_created_after=" + early.Format(time.RFC3339)
				want = len(refNotes(notes, "updated_at", "", timeRange{createdAfter: early}, contentFilter{}))
			case 1: // a collection's
				q = "/v2/notes?order_by=created_at&filter_by_updated_after=" + early.Format(time.RFC3339) + "&collection_id=" + collID
				want = len(refNotes(notes, "created_at", collID, timeRange{updatedAfter: early}, contentFilter{}))
			case 2: // by content
				q = "/v2/notes?contains_open_tasks=true"
				want = len(refNotes(notes, "updated_at", "", timeRange{}, contentFilter{openTasks: true}))
			case 3:
				q = "/v2/collections?order_by=created_at&filter_by_updated_after=" + mid.Format(time.RFC3339)
				for _, c := range colls {
					if !c.UpdatedAt.Before(mid) {
						want++
					}
				}
			}
			_, m := serveRaw(t, s, "GET", q+"&limit=1", "")
			require.Equal(t, float64(want), m["total"], "step %d: %s", step, q)
		}
		check()
		randomWrites(t, s, rng, 1, collID)
		check()
	}
}

// checkCollectionList pages through a random collection list and compares
// it, and each collection's note_count, with a brute force.
func checkCollectionList(t *testing.T, s *Server, rng *rand.Rand, notes []Note, colls []Collection) {
	t.Helper()
	orderBy := []string{"updated_at", "created_at"}[rng.IntN(2)]
	after := time.Date(2024, 1, 1, 0, rng.IntN(6), 0, 0, time.UTC)
	q := "/v2/collections?order_by=" + orderBy
	byOrder := func(c Collection) pageItem {
		if orderBy == "created_at" {
			return pageItem{id: c.ID, t: c.CreatedAt}
		}
		return pageItem{id: c.ID, t: c.UpdatedAt}
	}
	filtered := rng.IntN(2) == 0
	if filtered {
		q += "&filter_by_created_after=" + after.Format(time.RFC3339)
	}
	var want []string
	for _, k := range sortedKeys(colls, byOrder) {
		i := slices.IndexFunc(colls, func(c Collection) bool { return c.ID == k.id })
		if !filtered || !colls[i].CreatedAt.Before(after) {
			want = append(want, k.id)
		}
	}
	got, totals := pageAll(t, s, q, 1+rng.IntN(5))
	require.Equal(t, nonNil(want), nonNil(got), q)
	for _, total := range totals {
		require.Equal(t, len(want), total, q)
	}
	for _, c := range colls {
		count := 0
		for _, n := range notes {
			if n.TrashedAt == nil && slices.Contains(n.CollectionIDs, c.ID) {
				count++
			}
		}
		_, m := serveRaw(t, s, "GET", "/v2/collections/"+c.ID, "")
		require.Equal(t, float64(count), m["note_count"], "collection %s", c.ID)
	}
}

// TestPagingUnderConcurrentWrites pages through 2,000 notes, in both orders,
// while another goroutine creates notes, updates, trashes and deletes
// others: every note the writer leaves alone is served exactly once, and no
// note twice (writes move notes to the front, behind the cursor).
func TestPagingUnderConcurrentWrites(t *testing.T) {
	const n = 2000
	for _, orderBy := range []string{"updated_at", "created_at"} {
		t.Run(orderBy, func(t *testing.T) {
			s := MustNew(Config{Limits: benchLimits})
			fillNotes(t, s, n)
			all := s.Notes(DefaultKey)
			stable := map[string]bool{} // the notes the writer never touches
			var touched []Note
			for i, nt := range all {
				if i%3 == 0 {
					touched = append(touched, nt)
				} else {
					stable[nt.ID] = true
				}
			}
			done := make(chan struct{})
			writes := make(chan int, 1)
			go func() {
				defer close(writes)
				w := 0
				for i := 0; ; i++ {
					select {
					case <-done:
						writes <- w
						return
					default:
					}
					nt := touched[i%len(touched)]
					method, target, body := "POST", "/v2/notes", `{"content":"new"}`
					switch i % 4 {
					case 1:
						method, target, body = "PATCH", "/v2/notes/"+nt.ID, `{"content":"changed","version":1}`
					case 2:
						method, target, body = "POST", "/v2/notes/"+nt.ID+"/trash", ""
					case 3:
						method, target, body = "DELETE", "/v2/notes/"+nt.ID, ""
					}
					req := httptest.NewRequest(method, "http://mem.test"+target, strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+DefaultKey)
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, req)
					if rec.Code >= 500 {
						t.Errorf("%s %s: %d %s", method, target, rec.Code, rec.Body.Bytes())
					}
					w++
				}
			}()
			served := map[string]int{}
			page := ""
			for {
				u := "/v2/notes?limit=37&order_by=" + orderBy
				if page != "" {
					u += "&page=" + page
				}
				m := serveJSON(t, s, "GET", u, "")
				for _, r := range m["results"].([]any) {
					served[r.(map[string]any)["id"].(string)]++
				}
				next, ok := m["next_page"].(string)
				if !ok {
					break
				}
				page = next
			}
			close(done)
			t.Logf("%d writes while paging", <-writes)
			for id, k := range served {
				require.Equal(t, 1, k, "note %s served %d times", id, k)
			}
			for id := range stable {
				require.Contains(t, served, id, "a note nobody touched was skipped")
			}
		})
	}
}
