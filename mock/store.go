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
}

func (n *note) active() bool { return n.trashed.IsZero() }

func (n *note) inCollection(id string) bool { return slices.Contains(n.collections, id) }

// collection is a stored collection.
type collection struct {
	id          string
	title       string
	description *string
	created     time.Time
	updated     time.Time
	members     map[string]struct{} // note ids
}

// searchSnapshot is the frozen result window of a note search.
type searchSnapshot struct {
	fingerprint string
	ids         []string
}

// maxSnapshots bounds the search snapshots a key keeps (oldest dropped).
const maxSnapshots = 100

// keyState is everything one API key owns. mu guards all of it.
type keyState struct {
	mu    sync.Mutex
	key   string
	meter meter
	notes map[string]*note
	colls map[string]*collection

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

// noteCount is the number of active notes in c.
func (ks *keyState) noteCount(c *collection) int {
	n := 0
	for id := range c.members {
		if nt := ks.notes[id]; nt != nil && nt.active() {
			n++
		}
	}
	return n
}

// addMember links note n to collection c (no-op if linked).
func (ks *keyState) addMember(c *collection, n *note) {
	if _, ok := c.members[n.id]; ok {
		return
	}
	c.members[n.id] = struct{}{}
	n.collections = append(n.collections, c.id)
}

// removeMember unlinks note n from collection c (no-op if not linked).
func (ks *keyState) removeMember(c *collection, n *note) {
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
	ID            string
	Title         string
	Content       string
	CollectionIDs []string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	TrashedAt     *time.Time // nil when active
	Version       int64
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
	ID          string
	Title       string
	Description *string
	NoteCount   int // active notes in it
	CreatedAt   time.Time
	UpdatedAt   time.Time
}
