package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/memsdk/mem-go/memclient"
)

// maxServerErrors is how many calls in a row may fail with a 5xx (each
// after the client's own retries) before an import stops.
const maxServerErrors = 5

// breaker decides when an import stops at once instead of trying every
// remaining document: when an error says the next call would fail the same
// way. A refused key (401, 403), a server that cannot be reached once the
// client's retries are spent, a used-up quota, or maxServerErrors 5xx in a
// row. Errors about one document (a 4xx, a 409) do not count.
type breaker struct {
	mu       sync.Mutex
	server   string
	serverNs int    // 5xx failures in a row
	reason   string // why it tripped; "" while closed
}

func newBreaker(server string) *breaker { return &breaker{server: server} }

// observe records a call's error (nil for a success) and returns the reason
// to stop, once: "" while the import may go on.
func (b *breaker) observe(err error) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reason != "" {
		return ""
	}
	if err == nil || errors.Is(err, errAlreadyExists) {
		b.serverNs = 0
		return ""
	}
	var (
		api   *memclient.APIError
		quota *memclient.QuotaExceededError
	)
	switch {
	case errors.As(err, &quota):
		b.reason = describe(err)
	case errors.As(err, &api) && api.StatusCode == 401:
		b.reason = "the API key was refused (401); check MEM_API_KEY"
	case errors.As(err, &api) && api.StatusCode == 403:
		b.reason = "the API key may not " + forbidden(api) + " (403); check MEM_API_KEY"
	case errors.As(err, &api) && api.StatusCode >= 500:
		b.serverNs++
		if b.serverNs >= maxServerErrors {
			b.reason = fmt.Sprintf("the server failed %d calls in a row (the last: %d %s)", b.serverNs, api.StatusCode, apiMessage(api))
		}
	case errors.As(err, &api):
		b.serverNs = 0
	case isConnError(err):
		b.reason = fmt.Sprintf("cannot reach %s (%s); check --base-url or MEM_API_URL", b.server, connReason(err))
	}
	return b.reason
}

// forbidden says what a 403 refused the key, from its request: "create
// notes" (an import's first call may be a collection list: the warm-up).
func forbidden(api *memclient.APIError) string {
	post := api.Method == http.MethodPost
	switch {
	case post && strings.HasSuffix(api.Path, "/v2/mem-it"):
		return "use mem-it"
	case post && strings.HasSuffix(api.Path, "/v2/notes"):
		return "create notes"
	case post && strings.HasSuffix(api.Path, "/v2/collections"):
		return "create collections"
	case api.Method == http.MethodGet && strings.HasSuffix(api.Path, "/v2/collections"):
		return "list collections"
	}
	return "make this call (" + api.Method + " " + api.Path + ")"
}
