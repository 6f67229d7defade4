package memclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

const testSecret = "sk-live-TOPSECRET-0123456789"

// leaks reports where the key appears in any printing of the values.
func leaks(vals ...any) []string {
	var found []string
	for i, v := range vals {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			if s := fmt.Sprintf(f, v); strings.Contains(s, testSecret) || strings.Contains(s, fmt.Sprintf("%x", testSecret)) {
				found = append(found, fmt.Sprintf("value %d (%T) with %s", i, v, f))
			}
		}
		if b, err := json.Marshal(v); err == nil && bytes.Contains(b, []byte(testSecret)) {
			found = append(found, fmt.Sprintf("value %d (%T) as JSON", i, v))
		}
		if e, ok := v.(error); ok && strings.Contains(e.Error(), testSecret) {
			found = append(found, fmt.Sprintf("value %d (%T) Error()", i, v))
		}
	}
	return found
}

func TestAPIKeyNeverLeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv := mock.MustNew(mock.Config{
			Keys: []string{testSecret},
			Faults: mock.Faults{
				ErrorRate: 0.2, ResetRate: 0.1, LostRate: 0.1,
				MissingHeadersRate: 0.1, GarbledHeadersRate: 0.1, RetryAfterDate: true,
			},
			Quota: mock.Quota{Allowance: 30},
		})
		c, err := New(WithAPIKey(testSecret), WithBaseURL("http://mem.test"), WithTransport(srv.RoundTripper()),
			WithLogger(logger), WithRetryMax(2))
		require.NoError(t, err)
		ctx := t.Context()

		var values []any
		keep := func(vs ...any) { values = append(values, vs...) }
		srv.FailNext("", "/v2/notes", 3, mock.FaultRateLimit)
		for i := range 40 { // past the quota too
			n, resp, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: fmt.Sprintf("n%d", i)})
			keep(n, resp, err)
			_, resp, err = c.MemIt(ctx, &MemItRequest{Input: "m"})
			keep(resp, err)
			_, resp, err = c.Notes.Get(ctx, noteID)
			keep(resp, err)
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		_, _, err = c.MemIt(short, &MemItRequest{Input: "x"}) // past the deadline
		cancel()
		keep(err)

		// A wrong key, and a server that echoes the credentials it got.
		bad, err := New(WithAPIKey(testSecret+"x"), WithTransport(srv.RoundTripper()), WithLogger(logger))
		require.NoError(t, err)
		_, _, err = bad.Notes.List(ctx, nil)
		require.Error(t, err)
		keep(err)
		echo := rtFunc(func(r *http.Request) (*http.Response, error) {
			body := fmt.Sprintf(`{"error":{"type":"unauthorized","message":"bad key %s","details":{"got":%q,"list":[%q]}}}`,
				r.Header.Get("Authorization"), r.Header.Get("Authorization"), r.Header.Get("Authorization"))
			return recorded(401, nil, body, new(int))(r)
		})
		ec, err := New(WithAPIKey(testSecret), WithTransport(echo), WithLogger(logger))
		require.NoError(t, err)
		_, _, err = ec.Notes.List(ctx, nil)
		require.Error(t, err)
		keep(err)
		echoRaw := rtFunc(func(r *http.Request) (*http.Response, error) {
			return recorded(500, nil, "oops "+r.Header.Get("Authorization"), new(int))(r)
		})
		ec, err = New(WithAPIKey(testSecret), WithTransport(echoRaw), WithRetryMax(0))
		require.NoError(t, err)
		_, _, err = ec.Notes.List(ctx, nil)
		require.Error(t, err)
		keep(err)

		// The client itself, by pointer and by value.
		keep(c, reflect.ValueOf(c).Elem().Interface(), newSecret(testSecret))
		var cfg config
		require.NoError(t, WithAPIKey(testSecret)(&cfg))
		keep(cfg, &cfg)
		logger.Info("client", "client", c, "config", cfg)

		assert.Empty(t, leaks(values...))
		assert.False(t, strings.Contains(logs.String(), testSecret), "the key is in the log")
		assert.Contains(t, logs.String(), "mem retry", "the debug log did run")
		assert.Positive(t, srv.Count429())
	})
}
