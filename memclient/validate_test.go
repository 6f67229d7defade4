package memclient

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
)

// TestValidationSendsNothing checks that every invalid call fails with a
// *ValidationError before anything is sent or any rate budget is spent.
func TestValidationSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, calls := recordedClient(t, 200, nil, `{}`)
		ctx := t.Context()
		future := time.Now().Add(time.Minute)
		// A 3-byte rune: 200,000 of them are within the character limit
		// but three times over the create's byte limit.
		wide := strings.Repeat("€", MaxNoteContent)
		bad := "not-a-uuid"
		long := func(n int) string { return strings.Repeat("a", n) }
		empty := ""

		cases := map[string]struct {
			field string
			call  func() error
		}{
			"memit empty":      {"input", func() error { _, _, err := c.MemIt(ctx, &MemItRequest{}); return err }},
			"memit input size": {"input", func() error { _, _, err := c.MemIt(ctx, &MemItRequest{Input: long(MaxMemItInput + 1)}); return err }},
			"memit instructions": {"instructions", func() error {
				_, _, err := c.MemIt(ctx, &MemItRequest{Input: "x", Instructions: long(10_001)})
				return err
			}},
			"memit context":     {"context", func() error { _, _, err := c.MemIt(ctx, &MemItRequest{Input: "x", Context: long(10_001)}); return err }},
			"memit future":      {"timestamp", func() error { _, _, err := c.MemIt(ctx, &MemItRequest{Input: "x", Timestamp: future}); return err }},
			"memit nil":         {"", func() error { _, _, err := c.MemIt(ctx, nil); return err }},
			"create no content": {"content", func() error { _, _, err := c.Notes.Create(ctx, &CreateNoteRequest{}); return err }},
			"create chars": {"content", func() error {
				_, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: long(MaxNoteContent + 1)})
				return err
			}},
			"create bytes":    {"content", func() error { _, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: wide}); return err }},
			"create bad utf8": {"content", func() error { _, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "a\xffb"}); return err }},
			"create id":       {"id", func() error { _, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "x", ID: bad}); return err }},
			"create collection id": {"collection_ids", func() error {
				_, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "x", CollectionIDs: []string{bad}})
				return err
			}},
			"create collection ttl": {"collection_titles", func() error {
				_, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "x", CollectionTitles: []string{long(1001)}})
				return err
			}},
			"create future": {"created_at", func() error {
				_, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: "x", CreatedAt: future})
				return err
			}},
			"get id":          {"note_id", func() error { _, _, err := c.Notes.Get(ctx, "../v2/mem-it"); return err }},
			"list limit":      {"limit", func() error { _, _, err := c.Notes.List(ctx, &ListNotesOptions{Limit: 101}); return err }},
			"list order":      {"order_by", func() error { _, _, err := c.Notes.List(ctx, &ListNotesOptions{OrderBy: "title"}); return err }},
			"list collection": {"collection_id", func() error { _, _, err := c.Notes.List(ctx, &ListNotesOptions{CollectionID: bad}); return err }},
			"list year": {"filter_by_created_after", func() error {
				_, _, err := c.Notes.List(ctx, &ListNotesOptions{CreatedAfter: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
				return err
			}},
			"update version": {"version", func() error { _, _, err := c.Notes.Update(ctx, noteID, &UpdateNoteRequest{Content: "x"}); return err }},
			"update size": {"content", func() error {
				_, _, err := c.Notes.Update(ctx, noteID, &UpdateNoteRequest{Content: long(MaxNoteContent + 1), Version: 1})
				return err
			}},
			"update future": {"updated_at", func() error {
				_, _, err := c.Notes.Update(ctx, noteID, &UpdateNoteRequest{Content: "x", Version: 1, UpdatedAt: future})
				return err
			}},
			"delete id":         {"note_id", func() error { _, err := c.Notes.Delete(ctx, bad); return err }},
			"trash id":          {"note_id", func() error { _, err := c.Notes.Trash(ctx, bad); return err }},
			"restore id":        {"note_id", func() error { _, err := c.Notes.Restore(ctx, bad); return err }},
			"created-at zero":   {"created_at", func() error { _, _, err := c.Notes.SetCreatedAt(ctx, noteID, time.Time{}); return err }},
			"created-at future": {"created_at", func() error { _, _, err := c.Notes.SetCreatedAt(ctx, noteID, future); return err }},
			"search query":      {"query", func() error { _, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "  "}); return err }},
			"search limit":      {"limit", func() error { _, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "q", Limit: 51}); return err }},
			"search snapshot": {"snapshot_id", func() error {
				_, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "q", Offset: 20})
				return err
			}},
			"search collection": {"filter_by_collection_ids", func() error {
				_, _, err := c.Notes.Search(ctx, &SearchNotesRequest{Query: "q", CollectionIDs: []string{bad}})
				return err
			}},
			"related limit":    {"limit", func() error { _, _, err := c.Notes.Related(ctx, noteID, 21); return err }},
			"collection title": {"title", func() error { _, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{}); return err }},
			"collection title bytes": {"title", func() error {
				_, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: strings.Repeat("é", 600)})
				return err
			}},
			"collection desc": {"description", func() error {
				_, _, err := c.Collections.Create(ctx, &CreateCollectionRequest{Title: "t", Description: long(10_001)})
				return err
			}},
			"collection update ttl": {"title", func() error {
				_, _, err := c.Collections.Update(ctx, noteID, &UpdateCollectionRequest{Title: &empty})
				return err
			}},
			"collection get":  {"collection_id", func() error { _, _, err := c.Collections.Get(ctx, bad); return err }},
			"collection list": {"limit", func() error { _, _, err := c.Collections.List(ctx, &ListCollectionsOptions{Limit: -1}); return err }},
			"move target":     {"target_collection_id", func() error { _, err := c.Collections.MoveNote(ctx, noteID, noteID, bad); return err }},
			"add note":        {"note_id", func() error { _, err := c.Collections.AddNote(ctx, noteID, bad); return err }},
			"remove note":     {"collection_id", func() error { _, err := c.Collections.RemoveNote(ctx, bad, noteID); return err }},
		}
		for name, tc := range cases {
			err := tc.call()
			var ve *ValidationError
			require.ErrorAs(t, err, &ve, name)
			assert.Equal(t, tc.field, ve.Field, name)
			assert.Nil(t, ve.API, name)
		}
		assert.Zero(t, *calls, "nothing was sent")
		assert.Zero(t, c.Throttle().Snapshot().Stats.Admitted, "no budget spent")

		// At the limits exactly, nothing is refused.
		_, _, err := c.Notes.Create(ctx, &CreateNoteRequest{Content: long(MaxNoteContent)})
		require.NoError(t, err)
		_, _, err = c.Collections.Create(ctx, &CreateCollectionRequest{Title: strings.Repeat("é", 500)})
		require.NoError(t, err)
		_, _, err = c.Notes.Update(ctx, noteID, &UpdateNoteRequest{Content: strings.Repeat("€", MaxNoteContent), Version: 1})
		require.NoError(t, err, "update counts characters only")
		assert.Equal(t, 3, *calls)
	})
}

func TestNewOptions(t *testing.T) {
	t.Setenv(EnvAPIKey, "")
	t.Setenv(EnvBaseURL, "")
	_, err := New()
	require.ErrorIs(t, err, ErrNoAPIKey)

	t.Setenv(EnvAPIKey, "env-key")
	t.Setenv(EnvBaseURL, "https://proxy.example/mem/")
	c, err := New()
	require.NoError(t, err)
	assert.Equal(t, "https://proxy.example/mem", c.baseURL)
	assert.Equal(t, "env-key", c.key())

	c, err = New(WithAPIKey("opt-key"), WithBaseURL("http://localhost:8080"))
	require.NoError(t, err)
	assert.Equal(t, "opt-key", c.key())
	assert.Equal(t, "http://localhost:8080", c.baseURL)

	for _, u := range []string{"ftp://x", "api.mem.ai", "https://u:p@h", "https://h?x=1"} {
		_, err = New(WithBaseURL(u))
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), ":p@", u)
	}
	// The client adds /v2 itself: a base URL ending in it would call /v2/v2/notes.
	for u, want := range map[string]string{
		"http://127.0.0.1:18080/v2":     `base URL "http://127.0.0.1:18080/v2" (WithBaseURL) ends in /v2, which the client adds itself: use "http://127.0.0.1:18080"`,
		"https://api.mem.ai/v2/":        `use "https://api.mem.ai"`,
		"https://proxy.example/mem/v2/": `use "https://proxy.example/mem"`,
	} {
		_, err = New(WithAPIKey("k"), WithBaseURL(u))
		require.Error(t, err, u)
		assert.Contains(t, err.Error(), want, u)
	}
	t.Setenv(EnvBaseURL, "http://127.0.0.1:18080/v2")
	_, err = New(WithAPIKey("k"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `(MEM_API_URL) ends in /v2, which the client adds itself: use "http://127.0.0.1:18080"`)
	c, err = New(WithAPIKey("k"), WithBaseURL("https://proxy.example/v2x"))
	require.NoError(t, err, "only a last segment of exactly v2")
	assert.Equal(t, "https://proxy.example/v2x", c.baseURL)
	t.Setenv(EnvBaseURL, "")

	_, err = New(WithAPIKey("has space"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "has space")
	_, err = New(WithRetryMax(-1))
	require.Error(t, err)
	_, err = New(WithMaxRetryWait(0))
	require.Error(t, err)
	_, err = New(WithThrottle(nil))
	require.Error(t, err)
}

func TestBasePathPrefixAndHeaders(t *testing.T) {
	var got []string
	var ua, auth string
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.String())
		ua, auth = r.Header.Get("User-Agent"), r.Header.Get("Authorization")
		return recorded(200, nil, `{"request_id":"x"}`, new(int))(r)
	})
	c, err := New(WithAPIKey("k1"), WithBaseURL("https://proxy.example/mem/"), WithTransport(rt), WithUserAgent("tool/1"))
	require.NoError(t, err)
	_, _, err = c.MemIt(bg, &MemItRequest{Input: "x"})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://proxy.example/mem/v2/mem-it"}, got)
	assert.Equal(t, "tool/1", ua)
	assert.Equal(t, "Bearer k1", auth)
	// The throttle priced the prefixed path as a mem-it: 40 complexity tokens.
	snap := c.Throttle().Snapshot()
	assert.Equal(t, uint64(1), snap.Stats.Admitted)
	for _, b := range snap.Buckets {
		if b.Kind == headers.Complexity && b.Window == headers.Minute {
			assert.InDelta(t, 160, b.Level, 1)
		}
	}
}

// TestValidateIsTheCallsCheck: for each bad request, the request's
// Validate returns the error the call returns (same Field and Problem), the
// call sends nothing and spends no token, and Validate itself needs no
// client. A good request passes Validate and the call sends it.
func TestValidateIsTheCallsCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, calls := recordedClient(t, 200, nil, `{}`)
		ctx := t.Context()
		future := time.Now().Add(time.Minute)
		long := func(n int) string { return strings.Repeat("a", n) }
		empty := ""
		year0 := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)

		type validatable interface{ Validate() error }
		type vcase struct {
			v    validatable
			call func() error
		}
		memIt := func(r *MemItRequest) vcase {
			return vcase{r, func() error { _, _, err := c.MemIt(ctx, r); return err }}
		}
		createNote := func(r *CreateNoteRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Notes.Create(ctx, r); return err }}
		}
		updateNote := func(r *UpdateNoteRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Notes.Update(ctx, noteID, r); return err }}
		}
		listNotes := func(o *ListNotesOptions) vcase {
			return vcase{o, func() error { _, _, err := c.Notes.List(ctx, o); return err }}
		}
		searchNotes := func(r *SearchNotesRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Notes.Search(ctx, r); return err }}
		}
		createCol := func(r *CreateCollectionRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Collections.Create(ctx, r); return err }}
		}
		updateCol := func(r *UpdateCollectionRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Collections.Update(ctx, noteID, r); return err }}
		}
		listCols := func(o *ListCollectionsOptions) vcase {
			return vcase{o, func() error { _, _, err := c.Collections.List(ctx, o); return err }}
		}
		searchCols := func(r *SearchCollectionsRequest) vcase {
			return vcase{r, func() error { _, _, err := c.Collections.Search(ctx, r); return err }}
		}
		bad := map[string]vcase{
			"memit nil":            memIt(nil),
			"memit empty":          memIt(&MemItRequest{Input: " "}),
			"memit bad utf8":       memIt(&MemItRequest{Input: "a\xffb"}),
			"memit instructions":   memIt(&MemItRequest{Input: "x", Instructions: long(MaxMemItInstructions + 1)}),
			"memit context utf8":   memIt(&MemItRequest{Input: "x", Context: "\xc3"}),
			"memit future":         memIt(&MemItRequest{Input: "x", Timestamp: future}),
			"memit year 0":         memIt(&MemItRequest{Input: "x", Timestamp: year0}),
			"create nil":           createNote(nil),
			"create chars":         createNote(&CreateNoteRequest{Content: long(MaxNoteContent + 1)}),
			"create bytes":         createNote(&CreateNoteRequest{Content: strings.Repeat("€", MaxNoteContent)}),
			"create id form":       createNote(&CreateNoteRequest{Content: "x", ID: "{" + noteID + "}"}),
			"create collection id": createNote(&CreateNoteRequest{Content: "x", CollectionIDs: []string{"x"}}),
			"create title":         createNote(&CreateNoteRequest{Content: "x", CollectionTitles: []string{long(MaxCollectionTitle + 1)}}),
			"create updated_at":    createNote(&CreateNoteRequest{Content: "x", UpdatedAt: future}),
			"update nil":           updateNote(nil),
			"update version":       updateNote(&UpdateNoteRequest{Content: "x"}),
			"update content":       updateNote(&UpdateNoteRequest{Content: long(MaxNoteContent + 1), Version: 1}),
			"update future":        updateNote(&UpdateNoteRequest{Content: "x", Version: 2, UpdatedAt: future}),
			"list limit":           listNotes(&ListNotesOptions{Limit: MaxListLimit + 1}),
			"list order":           listNotes(&ListNotesOptions{OrderBy: "title"}),
			"list collection":      listNotes(&ListNotesOptions{CollectionID: "x"}),
			"list bound":           listNotes(&ListNotesOptions{UpdatedBefore: year0}),
			"search nil":           searchNotes(nil),
			"search query":         searchNotes(&SearchNotesRequest{}),
			"search offset":        searchNotes(&SearchNotesRequest{Query: "q", Offset: -1}),
			"search snapshot":      searchNotes(&SearchNotesRequest{Query: "q", Offset: 20}),
			"search bound":         searchNotes(&SearchNotesRequest{Query: "q", CreatedBefore: year0}),
			"collection nil":       createCol(nil),
			"collection title":     createCol(&CreateCollectionRequest{Title: " "}),
			"collection desc":      createCol(&CreateCollectionRequest{Title: "t", Description: long(MaxCollectionDesc + 1)}),
			"collection future":    createCol(&CreateCollectionRequest{Title: "t", CreatedAt: future}),
			"col update nil":       updateCol(nil),
			"col update title":     updateCol(&UpdateCollectionRequest{Title: &empty}),
			"col update future":    updateCol(&UpdateCollectionRequest{UpdatedAt: future}),
			"col list order":       listCols(&ListCollectionsOptions{OrderBy: "x"}),
			"col list bound":       listCols(&ListCollectionsOptions{CreatedAfter: year0}),
			"col search bound":     searchCols(&SearchCollectionsRequest{UpdatedAfter: year0}),
		}
		for name, tc := range bad {
			verr := tc.v.Validate()
			var want *ValidationError
			require.ErrorAs(t, verr, &want, name)
			assert.Nil(t, want.API, name)
			assert.NotEmpty(t, want.Problem, name)

			var got *ValidationError
			require.ErrorAs(t, tc.call(), &got, name)
			assert.Equal(t, want.Field, got.Field, name)
			assert.Equal(t, want.Problem, got.Problem, name)
			assert.Nil(t, got.API, name)
		}
		assert.Zero(t, *calls, "nothing was sent")
		assert.Zero(t, c.Throttle().Snapshot().Stats.Admitted, "no token spent")

		// Good requests pass Validate, and the calls send them.
		good := []vcase{
			memIt(&MemItRequest{Input: "x", Instructions: long(MaxMemItInstructions)}),
			createNote(&CreateNoteRequest{Content: long(MaxNoteContent), ID: noteID}),
			listNotes(nil),
			searchCols(nil),
		}
		for i, tc := range good {
			require.NoError(t, tc.v.Validate(), i)
			require.NoError(t, tc.call(), i)
		}
		assert.Equal(t, len(good), *calls)
	})
}
