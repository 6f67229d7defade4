package mock

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Key is an API key as the journal stores it. It compares equal to the key
// (Key("test-key") == e.Key), but every way of printing or encoding it
// (fmt verbs, JSON, slog) shows only a fingerprint, so journals can be logged.
type Key string

// Redacted returns "key:" and the first 8 hex digits of the key's SHA-256.
func (k Key) Redacted() string {
	if k == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(k))
	return "key:" + hex.EncodeToString(sum[:4])
}

// String returns the redacted form.
func (k Key) String() string { return k.Redacted() }

// GoString returns the redacted form, quoted.
func (k Key) GoString() string { return fmt.Sprintf("%q", k.Redacted()) }

// Format prints the redacted form for every verb.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprintf(f, "%q", k.Redacted())
		return
	}
	fmt.Fprint(f, k.Redacted())
}

// MarshalJSON encodes the redacted form.
func (k Key) MarshalJSON() ([]byte, error) { return json.Marshal(k.Redacted()) }

// LogValue logs the redacted form.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.Redacted()) }

// Entry is one call in the journal.
type Entry struct {
	// Time is when the server metered the call (after any uplink latency),
	// or, for a call that never reached the meter (an unknown key, a reset,
	// a context that ended during the uplink latency), when it was turned
	// away.
	Time   time.Time `json:"time"`
	Key    Key       `json:"key"`    // redacted when printed or encoded
	Method string    `json:"method"` // the request's HTTP method
	Path   string    `json:"path"`   // the request's URL path, without the query
	Status int       `json:"status"` // as produced; 0 when reset before processing (a lost response keeps its status, Fault says "lost")
	// RequestID is the request_id the server assigned the call, the one
	// its response body carries when a response is sent.
	RequestID      string `json:"request_id,omitempty"`
	RequestCost    int64  `json:"request_cost"`    // request tokens charged (0 if refused)
	ComplexityCost int64  `json:"complexity_cost"` // complexity tokens charged (0 if refused)
	Fault          string `json:"fault,omitempty"` // injected faults, comma-separated
	Error          string `json:"error,omitempty"` // the error type sent (ErrType*), "" on success
}

// String formats the entry on one line, key redacted.
func (e Entry) String() string {
	s := fmt.Sprintf("%s %s %s %s %d cost=%d/%d", e.Time.Format(time.RFC3339Nano), e.Key, e.Method, e.Path, e.Status, e.RequestCost, e.ComplexityCost)
	if e.Error != "" {
		s += " error=" + e.Error
	}
	if e.Fault != "" {
		s += " fault=" + e.Fault
	}
	return s
}

// journal is a bounded ring of entries; the server's lock guards it.
type journal struct {
	max     int
	entries []Entry
	start   int // index of the oldest entry once full
}

func (j *journal) add(e Entry) {
	if len(j.entries) < j.max {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.start] = e
	j.start = (j.start + 1) % j.max
}

func (j *journal) list() []Entry {
	out := make([]Entry, 0, len(j.entries))
	out = append(out, j.entries[j.start:]...)
	return append(out, j.entries[:j.start]...)
}
