package memclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

func TestLostResponsesOnWritesAreResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()

		srv.FailNext("POST", "/v2/notes", 1, mock.FaultLost)
		n, resp, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "Once\nonly"})
		require.NoError(t, err)
		assert.Equal(t, "Once", n.Title)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1, "exactly one note")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, 3, resp.Attempts, "the lost POST, the 409 and the read")

		// A caller-given id behaves the same.
		id := "0b6f4a8e-1c2d-4e3f-9a0b-1c2d3e4f5a6b"
		srv.FailNext("POST", "/v2/notes", 2, mock.FaultLost)
		n2, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "Mine", ID: id})
		require.NoError(t, err)
		assert.Equal(t, id, n2.ID)
		assert.Len(t, srv.Notes(mock.DefaultKey), 2)

		srv.FailNext("POST", "/v2/collections", 1, mock.FaultLost)
		col, resp, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Inbox", Description: "d"})
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts, "the lost POST, the 409 and the read")
		assert.Equal(t, "Inbox", col.Title)
		assert.Len(t, srv.Collections(mock.DefaultKey), 1)
		col2, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "Later"})
		require.NoError(t, err)

		srv.FailNext("PATCH", "/v2/notes/{note_id}", 1, mock.FaultLost)
		up, resp, err := c.Notes.Update(ctx, n.ID, &UpdateNoteRequest{Content: "Twice\nedited", Version: n.Version})
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts, "the lost PATCH, the 409 and the read")
		assert.Equal(t, "Twice", up.Title)
		assert.Equal(t, int64(2), up.Version)

		_, err = c.Collections.AddNote(ctx, col.ID, n.ID)
		require.NoError(t, err)
		srv.FailNext("POST", "/v2/collections/{source_collection_id}/notes/{note_id}/move", 1, mock.FaultLost)
		resp, err = c.Collections.MoveNote(ctx, col.ID, n.ID, col2.ID)
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts, "the lost move, the 409 and the read")

		srv.FailNext("DELETE", "/v2/notes/{note_id}", 1, mock.FaultLost)
		_, err = c.Notes.Delete(ctx, n2.ID)
		require.NoError(t, err)
		srv.FailNext("DELETE", "/v2/collections/{collection_id}", 1, mock.FaultLost)
		_, err = c.Collections.Delete(ctx, col.ID)
		require.NoError(t, err)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1)
		assert.Len(t, srv.Collections(mock.DefaultKey), 1)

		// Reads, resets and server errors are retried.
		srv.FailNext("GET", "/v2/notes/{note_id}", 1, mock.FaultReset)
		_, resp, err = c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		assert.Equal(t, 2, resp.Attempts)
		srv.FailNext("GET", "/v2/notes/{note_id}", 2, mock.FaultServerError)
		_, resp, err = c.Notes.Get(ctx, n.ID)
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts)
	})
}

func TestRandomLostResponsesCreateExactlyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{Faults: mock.Faults{LostRate: 0.3, ErrorRate: 0.1}, Seed: 7}, WithRetryMax(10))
		const n = 150
		for i := range n {
			_, _, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: fmt.Sprintf("Note %d", i)})
			require.NoError(t, err, "create %d", i)
		}
		notes := srv.Notes(mock.DefaultKey)
		require.Len(t, notes, n)
		seen := map[string]bool{}
		for _, nt := range notes {
			assert.False(t, seen[nt.Content], "duplicate %q", nt.Content)
			seen[nt.Content] = true
		}
	})
}

func TestMemItOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		ctx := t.Context()

		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultLost)
		_, _, err := c.MemIt(ctx, &MemItRequest{Input: "meeting notes"})
		var ou *OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Equal(t, "POST /v2/mem-it", ou.Op)
		assert.ErrorIs(t, err, syscall.ECONNRESET)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1, "it was processed, once")

		// A reset is ambiguous too (in general a reset may follow the send).
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultReset)
		_, _, err = c.MemIt(ctx, &MemItRequest{Input: "again"})
		require.ErrorAs(t, err, &ou)

		// A rate-limit 429 was not processed: retried.
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultRateLimit)
		_, resp, err := c.MemIt(ctx, &MemItRequest{Input: "third"})
		require.NoError(t, err)
		assert.Equal(t, 2, resp.Attempts)

		// At-least-once: retried after a lost response, so captured twice.
		srv.FailNext("POST", "/v2/mem-it", 1, mock.FaultLost)
		_, _, err = c.MemIt(ctx, &MemItRequest{Input: "twice", AtLeastOnce: true})
		require.NoError(t, err)
		count := 0
		for _, nt := range srv.Notes(mock.DefaultKey) {
			if nt.Content == "twice" {
				count++
			}
		}
		assert.Equal(t, 2, count)
	})
}

// TestMemItCancelledInFlightIsOutcomeUnknown: a mem-it whose context ends
// while the request is in flight may have been processed, so it fails with
// *OutcomeUnknownError (a caller that took the context's error for "not
// sent" would send it again); one whose context ends while it waits for
// tokens was never sent and fails with the context's error.
func TestMemItCancelledInFlightIsOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{})
		require.NoError(t, srv.SetFaults(mock.Faults{ResponseLatency: 5 * time.Second}))
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(2*time.Second, cancel) // metered at once, answered after 5 s
		_, _, err := c.MemIt(ctx, &MemItRequest{Input: "in flight"})
		var ou *OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1, "the server has it")
	})
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{Limits: mock.Limits{ComplexityPerMinute: 40}}) // one mem-it a minute
		_, _, err := c.MemIt(t.Context(), &MemItRequest{Input: "first"})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(2*time.Second, cancel) // the second waits a minute for tokens
		_, _, err = c.MemIt(ctx, &MemItRequest{Input: "second"})
		var ou *OutcomeUnknownError
		assert.False(t, errors.As(err, &ou), "never sent: %v", err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1)
	})
}

// TestMemItCancelledWaitingAfterA429IsNotOutcomeUnknown: "sent" is per
// attempt. A mem-it whose earlier attempts were sent and refused with 429
// (not processed), and whose context ends while its next attempt waits for
// tokens, was not sent again: it fails with the context's error, not with
// *OutcomeUnknownError.
func TestMemItCancelledWaitingAfterA429IsNotOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.Header{
			"Retry-After":            {"1"},
			"X-Complexity-Bucket":    {"minute"},
			"X-Complexity-Limit":     {"1000"},
			"X-Complexity-Remaining": {"0"},
			"X-Complexity-Reset":     {"60"},
		}
		c, calls := recordedClient(t, 429, h, `{"error":{"type":"rate_limit_exceeded","message":"slow down"}}`)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(10*time.Second, cancel) // the throttle waits for the minute's reset
		_, _, err := c.MemIt(ctx, &MemItRequest{Input: "x"})
		var ou *OutcomeUnknownError
		assert.False(t, errors.As(err, &ou), "not sent again: %v", err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Positive(t, *calls, "the earlier attempts were sent")
	})
}

func TestMemItRetriedWhenNeverSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		refused := 2
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			if refused > 0 {
				refused--
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}
			return srv.RoundTripper().RoundTrip(r)
		})
		c := newClientFor(t, srv, WithTransport(rt))
		_, resp, err := c.MemIt(t.Context(), &MemItRequest{Input: "x"})
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts)
		assert.Len(t, srv.Notes(mock.DefaultKey), 1)
		assert.True(t, NeverSent(fmt.Errorf("wrapped: %w", &net.OpError{Op: "dial", Err: errors.New("x")})))
		assert.False(t, NeverSent(&mock.InjectedError{Fault: mock.FaultReset}))
	})
}

// TestNeverSent: only a failed connect (or a plain-HTTP server met at an
// https:// URL) proves a request never left; an error number alone does
// not, since a refusal or no route can end a connection it went out on.
func TestNeverSent(t *testing.T) {
	refused := os.NewSyscallError("connect", syscall.ECONNREFUSED)
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: refused}, true},
		{&net.OpError{Op: "proxyconnect", Net: "tcp", Err: refused}, true},
		{&net.DNSError{Err: "no such host", Name: "mem.invalid"}, true},
		{&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "x", IsNotFound: true}}}, true},
		{fmt.Errorf("tls: %w", http.ErrSchemeMismatch), true},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.EHOSTUNREACH)}, false},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, false},
		{syscall.ECONNREFUSED, false},
		{io.ErrUnexpectedEOF, false},
		{context.Canceled, false},
	} {
		assert.Equal(t, tc.want, NeverSent(tc.err), "%v", tc.err)
	}
}

// TestMemItNotResentAfterAReadThatFoundNoRoute: a mem-it whose connection
// broke after it was written ("no route to host" on the read) may have
// been processed: it is of unknown outcome, not sent again.
func TestMemItNotResentAfterAReadThatFoundNoRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		attempts := 0
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			attempts++
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.EHOSTUNREACH)}
		})
		c := newClientFor(t, srv, WithTransport(rt))
		_, _, err := c.MemIt(t.Context(), &MemItRequest{Input: "x"})
		var unknown *OutcomeUnknownError
		require.ErrorAs(t, err, &unknown)
		assert.Equal(t, 1, attempts, "not sent again")
	})
}

func TestCreateOutcomeUnknownWhenRetriesRunOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := newMock(t, mock.Config{}, WithRetryMax(2))
		srv.FailNext("POST", "/v2/notes", 3, mock.FaultLost)
		_, _, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: "lost thrice"})
		var ou *OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Len(t, ou.ID, 36)
		notes := srv.Notes(mock.DefaultKey)
		require.Len(t, notes, 1, "the first attempt created it; the retries were refused")
		assert.Equal(t, ou.ID, notes[0].ID)

		// Resets are ambiguous too: in general one can follow the send
		// (here the mock reset before processing, so nothing was created).
		srv.FailNext("POST", "/v2/collections", 3, mock.FaultReset)
		_, _, err = c.Collections.Create(t.Context(), &CreateCollectionRequest{Title: "t"})
		require.ErrorAs(t, err, &ou)
		assert.Empty(t, srv.Collections(mock.DefaultKey))
	})
}

func TestServerErrorBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"error":{"type":"internal_error","message":"busy","details":{}}}`
		// Retry-After on a 503 is honoured.
		c, calls := recordedClient(t, 503, http.Header{"Retry-After": {"7"}}, body, WithRetryMax(1))
		start := time.Now()
		_, _, err := c.Notes.Get(t.Context(), noteID)
		require.Error(t, err)
		assert.Equal(t, 2, *calls)
		assert.GreaterOrEqual(t, time.Since(start), 7*time.Second)

		// A Retry-After on a 503 beyond the max retry wait, or past the
		// deadline, is not waited for: the call fails at once.
		c, calls = recordedClient(t, 503, http.Header{"Retry-After": {"7"}}, body, WithRetryMax(1), WithMaxRetryWait(5*time.Second))
		start = time.Now()
		_, _, err = c.Notes.Get(t.Context(), noteID)
		require.Error(t, err)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start))
		c, calls = recordedClient(t, 503, http.Header{"Retry-After": {"7"}}, body, WithRetryMax(1))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		start = time.Now()
		_, _, err = c.Notes.Get(ctx, noteID)
		cancel()
		require.Error(t, err)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start))

		// A backoff that would pass the deadline is not waited for.
		c, calls = recordedClient(t, 500, nil, body)
		ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, _, err = c.Notes.Get(ctx, noteID)
		var api *APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, 500, api.StatusCode)
		assert.Equal(t, 1, *calls)
		assert.Zero(t, time.Since(start))

		// Context cancelled: the context's error.
		c, _ = recordedClient(t, 500, nil, body)
		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		_, _, err = c.Notes.Get(ctx, noteID)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestEveryEndpointNotFound sends every endpoint that takes an id an unknown
// one: each answers a *NotFoundError decoded from the mock's envelope.
func TestEveryEndpointNotFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMock(t, mock.Config{})
		ctx := t.Context()
		col, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "real"})
		require.NoError(t, err)
		n, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "real"})
		require.NoError(t, err)
		missing := "11111111-2222-4333-8444-555555555555"
		calls := map[string]func() error{
			"get note": func() error { _, _, err := c.Notes.Get(ctx, missing); return err },
			"update note": func() error {
				_, _, err := c.Notes.Update(ctx, missing, &UpdateNoteRequest{Content: "x", Version: 1})
				return err
			},
			"delete note":     func() error { _, err := c.Notes.Delete(ctx, missing); return err },
			"trash":           func() error { _, err := c.Notes.Trash(ctx, missing); return err },
			"restore":         func() error { _, err := c.Notes.Restore(ctx, missing); return err },
			"related":         func() error { _, _, err := c.Notes.Related(ctx, missing, 0); return err },
			"created-at":      func() error { _, _, err := c.Notes.SetCreatedAt(ctx, missing, time.Now().Add(-time.Hour)); return err },
			"list collection": func() error { _, _, err := c.Notes.List(ctx, &ListNotesOptions{CollectionID: missing}); return err },
			"search snapshot": func() error {
				_, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "q", Offset: 20, SnapshotID: missing})
				return err
			},
			"get collection":    func() error { _, _, err := c.Collections.Get(ctx, missing); return err },
			"update collection": func() error { _, _, err := c.Collections.Update(ctx, missing, &UpdateCollectionRequest{}); return err },
			"delete collection": func() error { _, err := c.Collections.Delete(ctx, missing); return err },
			"add note":          func() error { _, err := c.Collections.AddNote(ctx, col.ID, missing); return err },
			"remove note":       func() error { _, err := c.Collections.RemoveNote(ctx, missing, n.ID); return err },
			"move note":         func() error { _, err := c.Collections.MoveNote(ctx, col.ID, n.ID, missing); return err },
		}
		for name, call := range calls {
			err := call()
			if name == "list collection" {
				require.NoError(t, err, "listing an unknown collection is an empty list")
				continue
			}
			var nf *NotFoundError
			require.ErrorAs(t, err, &nf, name)
			assert.Equal(t, ErrTypeNotFound, nf.API.Type, name)
			assert.NotEmpty(t, nf.API.RequestID, name)
		}
		assert.True(t, c.Rate().Requests.Present())
		assert.Equal(t, int64(100), c.Rate().Requests.Limit)
	})
}

func TestBodyReplayedOnEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bodies []string
		fails := 2
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			b, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			bodies = append(bodies, string(b))
			if fails > 0 {
				fails--
				return recorded(502, nil, `{"error":{"type":"internal_error","message":"x","details":{}}}`, new(int))(r)
			}
			return recorded(200, nil, `{"id":"`+noteID+`","title":"T","content":"T\nbody","version":1,"collection_ids":[],"created_at":"2000-01-01T00:00:00.000Z","updated_at":"2000-01-01T00:00:00.000Z","request_id":"r"}`, new(int))(r)
		})
		c, err := New(WithAPIKey("k"), WithTransport(rt))
		require.NoError(t, err)
		n, resp, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: "T\nbody"})
		require.NoError(t, err)
		assert.Equal(t, "T", n.Title)
		assert.Equal(t, "r", resp.RequestID)
		require.Len(t, bodies, 3)
		assert.Equal(t, bodies[0], bodies[1])
		assert.Equal(t, bodies[0], bodies[2])
		var sent map[string]any
		require.NoError(t, json.Unmarshal([]byte(bodies[0]), &sent))
		assert.Len(t, sent["id"], 36, "the client generated the id")
		assert.NotContains(t, sent, "created_at", "zero times are not sent")
	})
}

func TestWithHTTPClient(t *testing.T) {
	calls := 0
	hc := &http.Client{Transport: recorded(200, nil, `{"results":[],"total":0}`, &calls), Timeout: time.Minute}
	c, err := New(WithAPIKey("k"), WithHTTPClient(hc))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, c.hc.Timeout)
	_, _, err = c.Collections.List(bg, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, calls, "its transport is used, under the throttle")
	assert.Equal(t, uint64(1), c.Throttle().Snapshot().Stats.Admitted)
}

// TestNoRetryWhatNoRetryMends: an https:// base URL for a server that
// answers plain HTTP (net/http's ErrSchemeMismatch), or a certificate the
// client does not trust, fails at once: retrying took seconds to say the
// same thing.
func TestNoRetryWhatNoRetryMends(t *testing.T) {
	for name, fail := range map[string]error{
		"plain HTTP": tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte([]byte("HTTP/"))},
		"untrusted":  &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mock.MustNew(mock.Config{})
				calls := 0
				rt := rtFunc(func(*http.Request) (*http.Response, error) {
					calls++
					return nil, fail
				})
				c := newClientFor(t, srv, WithTransport(rt))
				start := time.Now()
				_, _, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: "x"})
				require.Error(t, err)
				assert.Equal(t, 1, calls, "no retry")
				assert.Zero(t, time.Since(start), "no backoff")
			})
		})
	}
}

// TestResponseLogNamesNoEmptyRequestID: the debug line of each response
// named request_id from an X-Request-Id header, which Mem's docs never
// mention (its id is in the body), so against a server without the header
// every line read request_id="".
func TestResponseLogNamesNoEmptyRequestID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		srv := mock.MustNew(mock.Config{})
		noHeader := rtFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := srv.RoundTripper().RoundTrip(r)
			if resp != nil {
				resp.Header.Del("X-Request-Id")
			}
			return resp, err
		})
		c := newClientFor(t, srv, WithTransport(noHeader), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		_, resp, err := c.Notes.Create(t.Context(), &CreateNoteRequest{Content: "x"})
		require.NoError(t, err)
		assert.NotEmpty(t, resp.RequestID, "from the body")
		assert.Contains(t, logs.String(), "mem response")
		assert.NotContains(t, logs.String(), `request_id=""`)
	})
}

// TestReachesDeadline: a wait that ends exactly at the deadline reaches
// it (the context is done by then); one that ends a moment before does
// not; no deadline, never.
func TestReachesDeadline(t *testing.T) {
	now := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Second))
	defer cancel()
	assert.True(t, reachesDeadline(ctx, now, time.Second))
	assert.True(t, reachesDeadline(ctx, now, 2*time.Second))
	assert.False(t, reachesDeadline(ctx, now, time.Second-time.Nanosecond))
	assert.False(t, reachesDeadline(context.Background(), now, time.Hour))
}
