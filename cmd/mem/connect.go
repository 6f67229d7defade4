package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/memsdk/mem-go/cmd/internal/buildinfo"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// mockBaseURL is where --mock's calls pretend to go (they never leave the
// process).
const mockBaseURL = "http://mock.invalid"

// conn is a client and what it spends from.
type conn struct {
	c       *memclient.Client
	th      *throttle.Throttle
	baseURL string // for messages
	mock    bool
	// owner names the server and the key (by a fingerprint that does not
	// reveal it): what an import's journal belongs to.
	owner journalOwner
}

// serverFrom returns the base URL of the server the flags and environment
// name, and where it came from, for messages: "--base-url", "MEM_API_URL",
// or "" (--mock, or the default).
func (g *globals) serverFrom(env *cliEnv) (server, from string) {
	switch {
	case g.mock:
		return mockBaseURL, ""
	case g.baseURL != "":
		return g.baseURL, "--base-url"
	case env.env(memclient.EnvBaseURL) != "":
		return env.env(memclient.EnvBaseURL), memclient.EnvBaseURL
	}
	return memclient.DefaultBaseURL, ""
}

// checkServer refuses a base URL that would not work, naming where it came
// from (from: see serverFrom), with a hint.
func checkServer(u, from string) error {
	what := "the server"
	if from != "" {
		what = from
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		if fix := withScheme(u); fix != "" {
			return usagef("%s is %q, not an http(s) URL: did you mean %s?", what, u, fix)
		}
		return usagef("%s is %q, not an http(s) URL (e.g. %s)", what, u, memclient.DefaultBaseURL)
	}
	if path := strings.TrimRight(p.Path, "/"); strings.HasSuffix(path, "/v2") {
		p.Path = strings.TrimSuffix(path, "/v2")
		return usagef("%s %s ends in /v2, which mem adds itself: use %s", what, u, p.String())
	}
	return nil
}

// withScheme is u, written without a scheme ("127.0.0.1:18080",
// "api.mem.ai"), with the one it most likely lacks: http:// for this
// machine, https:// elsewhere. "" when u has a scheme, or is no URL even
// with one.
func withScheme(u string) string {
	if u == "" || strings.Contains(u, "://") {
		return ""
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), "/v2") // the client adds /v2
	p, err := url.Parse("https://" + u)
	if err != nil || p.Hostname() == "" {
		return ""
	}
	scheme := "https://"
	if h := p.Hostname(); h == "localhost" || net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback() {
		scheme = "http://"
	}
	return scheme + u
}

// checkKey refuses an API key that cannot travel in a header (printable
// ASCII, no spaces, as the client requires), saying what and where in
// MEM_API_KEY is wrong, and never the key: a trailing newline, often
// copied with it from a file, is named as such.
func checkKey(key string) error {
	trimmed := strings.TrimRight(key, " \t\r\n")
	if trimmed != key {
		c := charName(key[len(trimmed)])
		return fmt.Errorf("%s ends with a %s: remove the trailing %s (the key is not shown)", memclient.EnvAPIKey, c, c)
	}
	for i, r := range key {
		if r <= ' ' || r >= 0x7f {
			c := "non-ASCII character"
			if r < 0x80 {
				c = charName(byte(r))
			}
			return fmt.Errorf("%s holds a %s at byte %d: an API key is printable ASCII without spaces (the key is not shown)", memclient.EnvAPIKey, c, i+1)
		}
	}
	return nil
}

// charName names a space or control character: "newline", "tab"...
func charName(b byte) string {
	switch b {
	case '\n':
		return "newline"
	case '\r':
		return "carriage return"
	case '\t':
		return "tab"
	case ' ':
		return "space"
	}
	return "control character"
}

// connect builds a throttle (with hooks) and a client on it. With --mock the
// client talks to an in-process mock (env.mock, or a new one). With
// --verbose every call, response, wait and retry is logged through the
// client's slog logger, which never shows the key.
func (g *globals) connect(env *cliEnv, hooks throttle.Hooks) (*conn, error) {
	server, from := g.serverFrom(env)
	if !g.mock {
		if err := checkServer(server, from); err != nil {
			return nil, err
		}
	}
	logger := slog.New(slog.DiscardHandler)
	if g.verbose {
		logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		hooks = logHooks(logger, hooks)
	}
	th, err := throttle.New(throttle.DefaultPolicy(), throttle.WithHooks(hooks))
	if err != nil {
		return nil, err
	}
	var key string
	var base http.RoundTripper // under the throttle: sendGuard marks each import call sent
	opts := []memclient.Option{
		memclient.WithThrottle(th),
		memclient.WithLogger(logger),
		memclient.WithBaseURL(server),
		memclient.WithUserAgent("mem-cli/" + buildinfo.Read().Version + " " + memclient.DefaultUserAgent),
	}
	if g.mock {
		srv := env.mock
		if srv == nil {
			if srv, err = mock.New(mock.Config{}); err != nil {
				return nil, err
			}
		}
		key, base = mock.DefaultKey, srv.RoundTripper()
		g.notice(env, "Using a throwaway in-process mock (--mock): nothing reaches Mem, and everything is gone when mem exits.")
	} else {
		key, base = env.env(memclient.EnvAPIKey), env.transport
		if key == "" {
			return nil, memclient.ErrNoAPIKey // describe says how to set one
		}
		if err := checkKey(key); err != nil {
			return nil, err
		}
	}
	if base == nil {
		base = http.DefaultTransport
	}
	opts = append(opts, memclient.WithAPIKey(key), memclient.WithTransport(sendGuard{base}))
	c, err := memclient.New(opts...)
	if err != nil {
		return nil, errors.New(describe(err))
	}
	return &conn{c: c, th: th, baseURL: server, mock: g.mock, owner: newJournalOwner(server, key)}, nil
}

// keyless is what a dry run plans with when there is no API key: a
// throttle with full buckets (a dry run sends nothing, so it knows no
// more with a key), no client, and an owner that names the server only.
func (g *globals) keyless(env *cliEnv) (*conn, error) {
	server, from := g.serverFrom(env)
	if err := checkServer(server, from); err != nil {
		return nil, err
	}
	th, err := throttle.New(throttle.DefaultPolicy())
	if err != nil {
		return nil, err
	}
	return &conn{th: th, baseURL: server, owner: journalOwner{Server: canonicalServer(server)}}, nil
}

// logHooks adds debug logging of waits and pauses to h.
func logHooks(l *slog.Logger, h throttle.Hooks) throttle.Hooks {
	onWait, onPause := h.OnWait, h.OnPause
	h.OnWait = func(e throttle.WaitEvent) {
		l.Debug("mem wait for tokens", "requests", e.Cost.Requests, "complexity", e.Cost.Complexity, "priority", e.Priority, "waited", e.Waited)
		if onWait != nil {
			onWait(e)
		}
	}
	h.OnPause = func(until time.Time) {
		l.Debug("mem pause after a 429", "until", until.Format(time.RFC3339), "for", time.Until(until).Round(time.Millisecond))
		if onPause != nil {
			onPause(until)
		}
	}
	return h
}

// describe says what went wrong in the command line's words, not the
// library's: no option names, no Go types.
func describe(err error) string {
	var (
		api   *memclient.APIError
		rl    *memclient.RateLimitError
		quota *memclient.QuotaExceededError
		nf    *memclient.NotFoundError
	)
	switch {
	case errors.Is(err, memclient.ErrNoAPIKey):
		return "no API key: set MEM_API_KEY, or pass --mock to try mem against a throwaway mock"
	case errors.As(err, &quota):
		msg := "the plan's note quota is used up"
		if !quota.ResetTime.IsZero() {
			msg += "; it resets at " + quota.ResetTime.UTC().Format(time.RFC3339)
		}
		if quota.UpgradeURL != "" {
			msg += " (more: " + quota.UpgradeURL + ")"
		}
		return msg
	case errors.As(err, &rl):
		return fmt.Sprintf("rate limited: try again in %s", fmtDuration(rl.RetryAfter))
	case errors.As(err, &nf):
		return "not found (404): " + apiMessage(nf.API)
	case errors.As(err, &api) && api.StatusCode == 401:
		return "the API key was refused (401): check MEM_API_KEY"
	case errors.As(err, &api) && api.StatusCode == 403:
		return "the API key may not do this (403): " + apiMessage(api)
	case errors.As(err, &api) && api.StatusCode >= 500:
		return fmt.Sprintf("the server failed (%d): %s", api.StatusCode, apiMessage(api))
	case errors.As(err, &api):
		return fmt.Sprintf("refused (%d): %s", api.StatusCode, apiMessage(api))
	case isConnError(err):
		return "cannot reach the server: " + connReason(err) + "; check --base-url or MEM_API_URL"
	}
	return strings.ReplaceAll(err.Error(), "memclient: ", "")
}

// apiMessage is the server's message and request id, or its error type.
func apiMessage(api *memclient.APIError) string {
	msg := api.Message
	if msg == "" {
		msg = api.Type
	}
	if msg == "" {
		msg = "no details"
	}
	if api.RequestID != "" {
		msg += " (request " + api.RequestID + ")"
	}
	return msg
}

// isConnError reports whether err says the server could not be reached at
// all: the connection could not be made (DNS, refused, no route), or the
// server at an https:// URL answers plain HTTP. A reset or a lost response
// after connecting is not one: the server was there.
func isConnError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return memclient.NeverSent(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// connReason is the innermost words of a connection error: "connection
// refused", "no such host".
func connReason(err error) string {
	if errors.Is(err, http.ErrSchemeMismatch) {
		return "it answers plain HTTP, not HTTPS"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "no such host " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		msg := op.Err.Error()
		if _, after, ok := strings.Cut(msg, ": "); ok {
			msg = after
		}
		return msg
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// clientAPI adapts a memclient.Client to what an import needs.
type clientAPI struct{ c *memclient.Client }

func (a clientAPI) CreateNote(ctx context.Context, id string, it item, collectionIDs []string) error {
	_, _, err := a.c.Notes.Create(ctx, noteRequest(id, it, collectionIDs))
	var ce *memclient.ConflictError
	if errors.As(err, &ce) && ce.Reason == memclient.ReasonDuplicateID {
		return fmt.Errorf("%w: %w", errAlreadyExists, err)
	}
	return err
}

func (a clientAPI) MemIt(ctx context.Context, it item, instructions, context string) error {
	_, _, err := a.c.MemIt(ctx, memItRequest(it, instructions, context))
	var ou *memclient.OutcomeUnknownError
	if errors.As(err, &ou) {
		return fmt.Errorf("%w: %w", errOutcomeUnknown, err)
	}
	return err
}

// WarmUp lists one collection: 1 request and 1 complexity token.
func (a clientAPI) WarmUp(ctx context.Context) error {
	_, _, err := a.c.Collections.List(ctx, &memclient.ListCollectionsOptions{Limit: 1})
	return err
}

// EnsureCollections returns the ids of the collections with these titles
// (case-insensitively), creating the missing ones with an id derived from
// the title, so that a rerun finds rather than duplicates them.
func (a clientAPI) EnsureCollections(ctx context.Context, titles []string) (map[string]string, error) {
	ids := map[string]string{}
	for col, err := range a.c.Collections.All(ctx, &memclient.ListCollectionsOptions{Limit: memclient.MaxListLimit}) {
		if err != nil {
			return nil, err
		}
		ids[strings.ToLower(col.Title)] = col.ID
	}
	for _, t := range titles {
		key := strings.ToLower(t)
		if _, ok := ids[key]; ok {
			continue
		}
		col, _, err := a.c.Collections.Create(ctx, collectionRequest(t))
		var ce *memclient.ConflictError
		if errors.As(err, &ce) { // created by an earlier run meanwhile: ours has a known id
			ids[key] = collectionID(t)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating collection %q: %w", t, err)
		}
		ids[key] = col.ID
	}
	return ids, nil
}
