package mock

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// note is a stored note. Strings are immutable, so handlers may copy the
// struct and use it after the key's lock is released (but not its slices).
type note struct {
	id          string
	content     string
	title       string
	collections []string // collection ids, in the order they were added
	created     time.Time
	origCreated time.Time // created_at may only be moved before this
	updated     time.Time
	trashed     time.Time // zero when active
	version     int64

	// What the content filters ask, worked out when the content is set.
	openTasks, tasks, images bool
}

func (n *note) active() bool { return n.trashed.IsZero() }

// setContent sets the note's content and what derives from it: the title
// and the content filter flags.
func (n *note) setContent(content string) {
	n.content, n.title = content, titleOf(content)
	n.openTasks, n.tasks, n.images = taskFlags(content)
}

// noteByUpdated and noteByCreated are a note's keys in the two list orders.
func noteByUpdated(n *note) pageItem { return pageItem{id: n.id, t: n.updated} }
func noteByCreated(n *note) pageItem { return pageItem{id: n.id, t: n.created} }

// noteOrder holds notes in both list orders.
type noteOrder struct {
	byUpdated, byCreated *orderIndex[*note]
}

func newNoteOrder() noteOrder {
	return noteOrder{byUpdated: newOrderIndex(noteByUpdated), byCreated: newOrderIndex(noteByCreated)}
}

func (o noteOrder) insert(n *note) { o.byUpdated.insert(n); o.byCreated.insert(n) }
func (o noteOrder) remove(n *note) { o.byUpdated.remove(n); o.byCreated.remove(n) }

// by returns the index for orderBy ("updated_at" or "created_at").
func (o noteOrder) by(orderBy string) *orderIndex[*note] {
	if orderBy == "created_at" {
		return o.byCreated
	}
	return o.byUpdated
}

func (n *note) inCollection(id string) bool { return slices.Contains(n.collections, id) }

// collection is a stored collection.
type collection struct {
	id          string
	title       string
	description *string
	created     time.Time
	updated     time.Time
	members     map[string]struct{} // note ids
	active      noteOrder           // the active members
}

func collByUpdated(c *collection) pageItem { return pageItem{id: c.id, t: c.updated} }
func collByCreated(c *collection) pageItem { return pageItem{id: c.id, t: c.created} }

// searchSnapshot is the frozen result window of a note search.
type searchSnapshot struct {
	fingerprint string
	ids         []string
}

// maxSnapshots bounds the search snapshots a key keeps (oldest dropped).
const maxSnapshots = 100

// keyState is everything one API key owns. mu guards all of it.
//
// Besides the maps, the key keeps its active notes and its collections in
// list order (and each collection its active notes), so a list page is a
// seek and a walk of the page. Every write that adds, removes, trashes or
// restores a note or a collection, changes its created or updated time, its
// content or its memberships, goes through the methods below, which keep
// these in step and count the write in gen.
type keyState struct {
	mu     sync.Mutex
	key    string
	meter  meter
	notes  map[string]*note
	colls  map[string]*collection
	active noteOrder // the active notes

	collsByUpdated, collsByCreated *orderIndex[*collection]

	gen     uint64    // counts the writes to notes and collections
	counted countMemo // the last filtered list total counted

	snapshots map[string]searchSnapshot
	snapOrder []string

	quotaUsed  int64
	quotaStart time.Time

	neighbourNext  time.Time // next call of the noisy neighbour
	neighbourStart time.Time // the start neighbourNext was scheduled from
}

func newKeyState(key string, l Limits, now time.Time) *keyState {
	ks := &keyState{key: key}
	ks.reset(l, now)
	return ks
}

// reset empties the key's data and fills its buckets. Caller holds mu (or
// owns ks exclusively).
func (ks *keyState) reset(l Limits, now time.Time) {
	ks.meter = newMeter(l, now)
	ks.notes = map[string]*note{}
	ks.colls = map[string]*collection{}
	ks.active = newNoteOrder()
	ks.collsByUpdated, ks.collsByCreated = newOrderIndex(collByUpdated), newOrderIndex(collByCreated)
	ks.counted = countMemo{}
	ks.snapshots = map[string]searchSnapshot{}
	ks.snapOrder = nil
	ks.quotaUsed = 0
	ks.quotaStart = now
	ks.neighbourNext, ks.neighbourStart = time.Time{}, time.Time{}
}

// neighbour accounts the noisy neighbour's calls due up to now, each at its
// own instant, so the buckets see them in time order. Caller holds mu.
func (ks *keyState) neighbour(n *Neighbour, start, now time.Time) {
	if n == nil {
		return
	}
	if !ks.neighbourStart.Equal(start) || ks.neighbourNext.IsZero() {
		ks.neighbourStart = start
		ks.neighbourNext = start.Add(n.Interval)
	}
	// After a long idle spell only the last full period matters: every
	// bucket is full again by then.
	horizon := now.Add(-max(ks.meter.req[1].period(), ks.meter.cpx[1].period(),
		ks.meter.req[0].period(), ks.meter.cpx[0].period()))
	if ks.neighbourNext.Before(horizon) {
		skip := horizon.Sub(ks.neighbourNext)/n.Interval + 1
		ks.neighbourNext = ks.neighbourNext.Add(skip * n.Interval)
	}
	rc, cc := n.Requests, n.Complexity
	if rc == 0 {
		rc = 1
	}
	if cc == 0 {
		cc = 1
	}
	for !ks.neighbourNext.After(now) {
		ks.meter.charge(ks.neighbourNext, rc, cc)
		ks.neighbourNext = ks.neighbourNext.Add(n.Interval)
	}
}

// period is the bucket's refill period.
func (b *bucket) period() time.Duration { return time.Duration(b.per) * time.Microsecond }

// saveSnapshot stores a search snapshot, dropping the oldest past the bound.
func (ks *keyState) saveSnapshot(id string, s searchSnapshot) {
	ks.snapshots[id] = s
	ks.snapOrder = append(ks.snapOrder, id)
	if len(ks.snapOrder) > maxSnapshots {
		delete(ks.snapshots, ks.snapOrder[0])
		ks.snapOrder = ks.snapOrder[1:]
	}
}

// countMemo is a filtered list total, as counted at a write generation.
type countMemo struct {
	gen   uint64
	query string // the list and its fingerprint ("" for none)
	total int
}

// countOnce returns a counter for pageQuery.counted: it counts the total of
// query (the list's name and fingerprint) with count, unless it counted the
// same query since the key's last write. So paging through a filtered list
// counts its total once, not once a page.
func (ks *keyState) countOnce(query string) func(count func() int) int {
	return func(count func() int) int {
		if ks.counted.query == query && ks.counted.gen == ks.gen {
			return ks.counted.total
		}
		total := count()
		ks.counted = countMemo{gen: ks.gen, query: query, total: total}
		return total
	}
}

// noteCount is the number of active notes in c.
func (ks *keyState) noteCount(c *collection) int { return c.active.byUpdated.len() }

// addNote stores a new, active note in no collection; its id is free.
func (ks *keyState) addNote(n *note) {
	ks.gen++
	ks.notes[n.id] = n
	ks.active.insert(n)
}

// deleteNote forgets note n and its memberships.
func (ks *keyState) deleteNote(n *note) {
	ks.gen++
	ks.unlist(n)
	for _, cid := range n.collections {
		if col := ks.colls[cid]; col != nil {
			delete(col.members, n.id)
		}
	}
	delete(ks.notes, n.id)
}

// unlist takes an active note out of the list orders (the key's and its
// collections'); a trashed note is in none.
func (ks *keyState) unlist(n *note) {
	if !n.active() {
		return
	}
	ks.active.remove(n)
	for _, cid := range n.collections {
		if col := ks.colls[cid]; col != nil {
			col.active.remove(n)
		}
	}
}

// list puts an active note back into the list orders, after unlist.
func (ks *keyState) list(n *note) {
	if !n.active() {
		return
	}
	ks.active.insert(n)
	for _, cid := range n.collections {
		if col := ks.colls[cid]; col != nil {
			col.active.insert(n)
		}
	}
}

// reorder applies change, which may move the note's created or updated
// time, trash it or restore it, and keeps the list orders in step.
func (ks *keyState) reorder(n *note, change func()) {
	ks.gen++
	ks.unlist(n)
	change()
	ks.list(n)
}

// addCollection stores a new collection; its id is free.
func (ks *keyState) addCollection(c *collection) {
	ks.gen++
	c.members = map[string]struct{}{}
	c.active = newNoteOrder()
	ks.colls[c.id] = c
	ks.collsByUpdated.insert(c)
	ks.collsByCreated.insert(c)
}

// reorderCollection applies change, which may move the collection's
// updated time, and keeps the list orders in step.
func (ks *keyState) reorderCollection(c *collection, change func()) {
	ks.gen++
	ks.collsByUpdated.remove(c)
	ks.collsByCreated.remove(c)
	change()
	ks.collsByUpdated.insert(c)
	ks.collsByCreated.insert(c)
}

// deleteCollection unlinks every member of c and forgets it.
func (ks *keyState) deleteCollection(c *collection) {
	ks.gen++
	for id := range c.members {
		if n := ks.notes[id]; n != nil {
			ks.removeMember(c, n)
		}
	}
	ks.collsByUpdated.remove(c)
	ks.collsByCreated.remove(c)
	delete(ks.colls, c.id)
}

// addMember links note n to collection c (no-op if linked).
func (ks *keyState) addMember(c *collection, n *note) {
	ks.gen++
	if _, ok := c.members[n.id]; ok {
		return
	}
	c.members[n.id] = struct{}{}
	n.collections = append(n.collections, c.id)
	if n.active() {
		c.active.insert(n)
	}
}

// removeMember unlinks note n from collection c (no-op if not linked).
func (ks *keyState) removeMember(c *collection, n *note) {
	ks.gen++
	if _, ok := c.members[n.id]; !ok {
		return
	}
	if n.active() {
		c.active.remove(n)
	}
	delete(c.members, n.id)
	n.collections = slices.DeleteFunc(n.collections, func(id string) bool { return id == c.id })
}

// titleOf derives a note's title from the first line of its content, without
// markdown heading marks.
func titleOf(content string) string {
	line, _, _ := strings.Cut(content, "\n")
	line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	line = strings.TrimSpace(strings.TrimLeft(line, "#"))
	return line
}

// Note is a stored note, as inspection returns it (a copy).
type Note struct {
	ID            string     // the note's UUID
	Title         string     // the first line of Content, without heading marks
	Content       string     // the markdown body
	CollectionIDs []string   // the collections it is in; empty, not nil, when none
	CreatedAt     time.Time  // when created, or the time it was backdated to
	UpdatedAt     time.Time  // when last modified
	TrashedAt     *time.Time // nil when active
	Version       int64      // content version: 1 on create, +1 on each update
}

func (n *note) export() Note {
	out := Note{
		ID: n.id, Title: n.title, Content: n.content,
		CollectionIDs: slices.Clone(n.collections),
		CreatedAt:     n.created, UpdatedAt: n.updated, Version: n.version,
	}
	if out.CollectionIDs == nil {
		out.CollectionIDs = []string{}
	}
	if !n.active() {
		t := n.trashed
		out.TrashedAt = &t
	}
	return out
}

// Collection is a stored collection, as inspection returns it (a copy).
type Collection struct {
	ID          string    // the collection's UUID
	Title       string    // matched case-insensitively by a note's collection_titles
	Description *string   // nil when it has none
	NoteCount   int       // active notes in it
	CreatedAt   time.Time // when created, or the time it was backdated to
	UpdatedAt   time.Time // when last modified
}
