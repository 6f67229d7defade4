package throttle

import (
	"context"
	"fmt"
)

// Priority orders the calls that wait for tokens: a waiting Interactive call
// goes before every waiting Default or Batch call, a Default call before
// every Batch call; calls of one priority keep their FIFO order. Set it per
// call with WithPriority. No priority starves: see WithMaxStarvation.
type Priority int8

const (
	// Default is the priority of a call whose context carries none.
	Default Priority = iota
	// Interactive is for calls someone is waiting on: a search, opening a note.
	Interactive
	// Batch is for background work that may yield: an import, an export.
	Batch
)

// priorities lists the priorities from the first served to the last.
var priorities = [...]Priority{Interactive, Default, Batch}

// rank is p's place in priorities: 0 is served first. An unknown value
// counts as Default.
func (p Priority) rank() int {
	switch p {
	case Interactive:
		return 0
	case Batch:
		return 2
	default:
		return 1
	}
}

// String returns "interactive", "default" or "batch".
func (p Priority) String() string {
	switch p {
	case Interactive:
		return "interactive"
	case Default:
		return "default"
	case Batch:
		return "batch"
	}
	return fmt.Sprintf("Priority(%d)", int8(p))
}

type priorityKey struct{}

// WithPriority returns a copy of ctx that gives the calls made with it
// priority p: through Throttle.Wait, the Transport, and so every memclient
// method. A value outside the three priorities counts as Default.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf returns the priority that ctx carries (Default if none).
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}
