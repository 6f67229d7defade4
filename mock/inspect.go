package mock

import (
	"slices"
	"strings"
	"time"
)

// Inspection for tests. Every method is safe to call while the server
// serves; each returns a consistent copy taken under the relevant lock.

// Journal returns a copy of the journal, oldest first.
func (s *Server) Journal() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.journal.list()
}

// Count429 returns how many 429 responses the server produced (rate limits,
// quota, injected) since it started or was Reset.
func (s *Server) Count429() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n429
}

// Levels returns the key's four bucket levels now (after the neighbour's
// spending), and false for an unknown key.
func (s *Server) Levels(key string) (Levels, bool) {
	ks := s.keys[key]
	if ks == nil {
		return Levels{}, false
	}
	now := time.Now()
	nb, start := s.neighbourConfig()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.neighbour(nb, start, now)
	return ks.meter.levels(now), true
}

// Notes returns copies of the key's stored notes, trashed ones included,
// oldest created first; nil for an unknown key.
func (s *Server) Notes(key string) []Note {
	ks := s.keys[key]
	if ks == nil {
		return nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := make([]Note, 0, len(ks.notes))
	for _, n := range ks.notes {
		out = append(out, n.export())
	}
	slices.SortFunc(out, func(a, b Note) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Collections returns copies of the key's collections, oldest created first;
// nil for an unknown key.
func (s *Server) Collections(key string) []Collection {
	ks := s.keys[key]
	if ks == nil {
		return nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := make([]Collection, 0, len(ks.colls))
	for _, c := range ks.colls {
		out = append(out, Collection{
			ID: c.id, Title: c.title, Description: c.description,
			NoteCount: ks.noteCount(c), CreatedAt: c.created, UpdatedAt: c.updated,
		})
	}
	slices.SortFunc(out, func(a, b Collection) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Spend takes tokens from a key's buckets now, as another process using the
// key would: requests tokens from both request windows and complexity tokens
// from both complexity windows, each bucket stopping at empty. Use it to start
// a test on a drained key. Nothing is journaled. It reports false for an
// unknown key.
func (s *Server) Spend(key string, requests, complexity int64) bool {
	ks := s.keys[key]
	if ks == nil {
		return false
	}
	now := time.Now()
	nb, start := s.neighbourConfig()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.neighbour(nb, start, now)
	ks.meter.drain(now, requests, complexity)
	return true
}
