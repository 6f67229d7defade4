package memclient

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Size limits of the API, as Mem's OpenAPI spec states them, in characters
// (Unicode code points) unless named bytes. The client checks them before
// sending, so an oversized request fails without spending a token.
const (
	MaxMemItInput        = 1_000_000 // MemItRequest.Input, characters
	MaxMemItInstructions = 10_000    // MemItRequest.Instructions and Context, characters
	MaxNoteContent       = 200_000   // note content, characters (and UTF-8 bytes on create)
	MaxCollectionTitle   = 1_000     // collection title (and collection_titles items), characters and UTF-8 bytes
	MaxCollectionDesc    = 10_000    // collection description, characters and UTF-8 bytes
	MaxListLimit         = 100       // notes and collections list page size
	MaxSearchLimit       = 50        // note search page size
	MaxSearchResults     = 100       // notes one note search reaches over all its pages, and the cap on its Total (set by the server)
	MaxRelatedLimit      = 20        // related notes
	maxTimestampYear     = 9999      // JSON can carry no later year
	minTimestampYear     = 1         // nor an earlier one
)

// validator collects the first problem found.
type validator struct{ err *ValidationError }

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
}

// result returns the problem as an error, or nil.
func (v *validator) result() error {
	if v.err == nil {
		return nil
	}
	return v.err
}

// errNilRequest is the problem of a nil request.
func errNilRequest() error { return &ValidationError{Problem: "nil request"} }

// required refuses an empty (or whitespace-only) string.
func (v *validator) required(field, s string) {
	if strings.TrimSpace(s) == "" {
		v.fail(field, "is required")
	}
}

// size bounds s in characters and, if maxBytes > 0, in UTF-8 bytes. Invalid
// UTF-8 is refused: JSON would silently replace it.
func (v *validator) size(field, s string, maxChars, maxBytes int) {
	if !utf8.ValidString(s) {
		v.fail(field, "is not valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		v.fail(field, "is %d characters; at most %d allowed", n, maxChars)
		return
	}
	if maxBytes > 0 && len(s) > maxBytes {
		v.fail(field, "is %d UTF-8 bytes; at most %d allowed", len(s), maxBytes)
	}
}

// uuid requires a UUID in its canonical 36-character form.
func (v *validator) uuid(field, s string) {
	if len(s) != 36 {
		v.fail(field, "is not a UUID (want the 36-character form)")
		return
	}
	if _, err := uuid.Parse(s); err != nil {
		v.fail(field, "is not a UUID")
	}
}

// optUUID checks s when it is set.
func (v *validator) optUUID(field, s string) {
	if s != "" {
		v.uuid(field, s)
	}
}

// timestamp checks a timestamp the API stores (created_at, updated_at,
// timestamp): when set, not in the future. A time.Time always has a zone, so
// its JSON form always carries an offset.
func (v *validator) timestamp(field string, t time.Time) {
	if t.IsZero() {
		return
	}
	v.timeRange(field, t)
	if t.After(time.Now()) {
		v.fail(field, "may not be in the future")
	}
}

// filterTime checks a filter bound: any time JSON can carry.
func (v *validator) filterTime(field string, t time.Time) {
	if !t.IsZero() {
		v.timeRange(field, t)
	}
}

// filterTimes checks the four time bounds of a list or search filter.
func (v *validator) filterTimes(createdAfter, createdBefore, updatedAfter, updatedBefore time.Time) {
	v.filterTime("filter_by_created_after", createdAfter)
	v.filterTime("filter_by_created_before", createdBefore)
	v.filterTime("filter_by_updated_after", updatedAfter)
	v.filterTime("filter_by_updated_before", updatedBefore)
}

func (v *validator) timeRange(field string, t time.Time) {
	if y := t.Year(); y < minTimestampYear || y > maxTimestampYear {
		v.fail(field, "year %d is outside %d–%d", y, minTimestampYear, maxTimestampYear)
	}
}

// limit checks an optional page size: 0 (the server's default) or 1..max.
func (v *validator) limit(field string, n, max int) {
	if n < 0 || n > max {
		v.fail(field, "is %d; want 1 to %d (or 0 for the default)", n, max)
	}
}

// orderBy checks an optional list order.
func (v *validator) orderBy(o OrderBy) {
	switch o {
	case "", OrderByUpdatedAt, OrderByCreatedAt:
	default:
		v.fail("order_by", "is %q; want %q or %q", string(o), OrderByUpdatedAt, OrderByCreatedAt)
	}
}
