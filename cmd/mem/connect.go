package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// connFlags are the flags every command takes to reach Mem.
type connFlags struct {
	baseURL string
	mock    bool
	json    bool
}

func addConnFlags(fs *flag.FlagSet) *connFlags {
	cf := &connFlags{}
	fs.StringVar(&cf.baseURL, "base-url", os.Getenv(memclient.EnvBaseURL), "Mem API server (also MEM_API_URL; default "+memclient.DefaultBaseURL+")")
	fs.BoolVar(&cf.mock, "mock", false, "run against an embedded, in-process mock with Mem's limits (no API key needed)")
	fs.BoolVar(&cf.json, "json", false, "print machine-readable JSON")
	return cf
}

// connect builds the throttle and a client on it. With --mock the client
// talks to an in-process mock server (env.mock, or a new one).
func (cf *connFlags) connect(env *cliEnv) (*memclient.Client, *throttle.Throttle, error) {
	th, err := throttle.New(throttle.DefaultPolicy())
	if err != nil {
		return nil, nil, err
	}
	opts := []memclient.Option{memclient.WithThrottle(th), memclient.WithUserAgent("mem-cli/0 " + memclient.DefaultUserAgent)}
	if cf.mock {
		srv := env.mock
		if srv == nil {
			if srv, err = mock.New(mock.Config{}); err != nil {
				return nil, nil, err
			}
		}
		opts = append(opts, memclient.WithAPIKey(mock.DefaultKey), memclient.WithTransport(srv.RoundTripper()),
			memclient.WithBaseURL("http://mock.invalid"))
	} else if cf.baseURL != "" {
		opts = append(opts, memclient.WithBaseURL(cf.baseURL))
	}
	c, err := memclient.New(opts...)
	if errors.Is(err, memclient.ErrNoAPIKey) {
		return nil, nil, fmt.Errorf("%w (or use --mock to try things against an embedded mock)", err)
	}
	return c, th, err
}

// clientAPI adapts a memclient.Client to what an import needs.
type clientAPI struct{ c *memclient.Client }

func (a clientAPI) CreateNote(ctx context.Context, id string, it item, collectionIDs []string) error {
	req := &memclient.CreateNoteRequest{
		ID:               id,
		Content:          it.Content,
		CollectionIDs:    collectionIDs,
		CollectionTitles: it.CollectionTitles,
	}
	if it.CreatedAt != nil {
		req.CreatedAt = *it.CreatedAt
	}
	if it.UpdatedAt != nil {
		req.UpdatedAt = *it.UpdatedAt
	}
	_, _, err := a.c.Notes.Create(ctx, req)
	var ce *memclient.ConflictError
	if errors.As(err, &ce) && ce.Reason == memclient.ReasonDuplicateID {
		return fmt.Errorf("%w: %w", errAlreadyExists, err)
	}
	return err
}

func (a clientAPI) MemIt(ctx context.Context, it item, instructions, context string) error {
	req := &memclient.MemItRequest{Input: it.Content, Instructions: instructions, Context: context}
	if it.Instructions != "" {
		req.Instructions = it.Instructions
	}
	if it.Context != "" {
		req.Context = it.Context
	}
	if it.CreatedAt != nil {
		req.Timestamp = *it.CreatedAt
	}
	_, _, err := a.c.MemIt(ctx, req)
	var ou *memclient.OutcomeUnknownError
	if errors.As(err, &ou) {
		return fmt.Errorf("%w: %w", errOutcomeUnknown, err)
	}
	return err
}

func (a clientAPI) EnsureCollections(ctx context.Context, titles []string) (map[string]string, error) {
	ids := map[string]string{}
	for col, err := range a.c.Collections.All(ctx, nil) {
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
		col, _, err := a.c.Collections.Create(ctx, &memclient.CreateCollectionRequest{ID: collectionID(t), Title: t})
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
