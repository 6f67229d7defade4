package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsdk/mem-go/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFiles(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

func TestReadSourcesFolder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.md":            "# Alpha\n\nbody",
		"sub/b.txt":       "Beta\nline",
		"sub/c.html":      "<html><head><title>Gamma &amp; co</title><style>x{}</style></head><body><p>Hello</p><p>World</p></body></html>",
		"d.eml":           "Subject: Delta\r\nFrom: =?UTF-8?Q?In=C3=AAs?= <a@example.com>\r\n\r\nmail body\r\n",
		"empty.md":        "  \n",
		"bad.txt":         "\xff\xfe not utf-8",
		"image.png":       "\x89PNG",
		"notes.jsonl":     "{\"content\":\"From JSONL\"}\n\nnot json\n{\"content\":\"\"}\n{\"content\":\"x\",\"bogus\":1}\n{\"input\":\"Second\",\"collection_titles\":[\"Inbox\"]}\n",
		"deep/er/e.MD":    "Epsilon",
		"deep/skip.jsonx": "{}",
	})
	items, err := readSources([]string{dir}, nil, viaNotes)
	require.NoError(t, err)

	byWhere := map[string]item{}
	for _, it := range items {
		byWhere[it.Where] = it
	}
	assert.Equal(t, "# Alpha\n\nbody", byWhere["a.md"].Content)
	assert.Equal(t, "Gamma & co\n\nHello\nWorld", byWhere["sub/c.html"].Content)
	assert.True(t, strings.HasPrefix(byWhere["d.eml"].Content, "Delta\n\nFrom: Inês <a@example.com>\n"), byWhere["d.eml"].Content)
	assert.Equal(t, "empty document", byWhere["empty.md"].Skip)
	assert.Equal(t, "not valid UTF-8 text", byWhere["bad.txt"].Skip)
	assert.Equal(t, "not a document type mem imports", byWhere["image.png"].Skip)
	assert.Equal(t, "not a document type mem imports", byWhere["deep/skip.jsonx"].Skip)
	assert.Equal(t, "Epsilon", byWhere["deep/er/e.MD"].Content)

	assert.Equal(t, "From JSONL", byWhere["notes.jsonl:1"].Content)
	assert.Contains(t, byWhere["notes.jsonl:3"].Skip, "malformed JSON")
	assert.Contains(t, byWhere["notes.jsonl:4"].Skip, `no "content" or "input"`)
	assert.Contains(t, byWhere["notes.jsonl:5"].Skip, "unknown field")
	assert.Equal(t, "Second", byWhere["notes.jsonl:6"].Content)
	assert.Equal(t, []string{"Inbox"}, byWhere["notes.jsonl:6"].CollectionTitles)
	assert.Len(t, items, 14)

	// Keys are stable and independent of how the folder was named.
	again, err := readSources([]string{dir + "/"}, nil, viaNotes)
	require.NoError(t, err)
	for i := range items {
		assert.Equal(t, items[i].Key, again[i].Key)
	}
}

func TestReadSourcesKeyChangesWithContent(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.md": "one"})
	first, err := readSources([]string{dir}, nil, viaNotes)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte("two"), 0o644))
	second, err := readSources([]string{dir}, nil, viaNotes)
	require.NoError(t, err)
	assert.NotEqual(t, first[0].Key, second[0].Key)
	assert.NotEqual(t, noteID(first[0].Key), noteID(second[0].Key))
	assert.Equal(t, noteID(first[0].Key), noteID(first[0].Key))
}

func TestReadSourcesStdin(t *testing.T) {
	items, err := readSources([]string{"-"}, strings.NewReader("  {\"content\":\"a\"}\n{\"content\":\"b\"}\n"), viaNotes)
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.Equal(t, "stdin:2", items[1].Where)

	items, err = readSources([]string{"-"}, strings.NewReader("Just a document\n"), viaMemIt)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, "Just a document", items[0].Content)
}

func TestReadSourcesMissingPathIsAnError(t *testing.T) {
	_, err := readSources([]string{"/no/such/place"}, nil, viaNotes)
	assert.Error(t, err)
}

func TestOversizeNotesAreSplitAndMemItRefused(t *testing.T) {
	para := strings.Repeat("word ", 1000)                       // 5,000 bytes
	big := "Big document\n\n" + strings.Repeat(para+"\n\n", 90) // ~450 KB
	dir := writeFiles(t, map[string]string{"big.md": big})
	items, err := readSources([]string{dir}, nil, viaNotes)
	require.NoError(t, err)
	require.Len(t, items, 3)
	var total int
	for i, it := range items {
		require.Empty(t, it.problem())
		assert.LessOrEqual(t, len(it.Content), maxNoteBytes)
		assert.Equal(t, i+1, it.Part)
		assert.Equal(t, 3, it.Parts)
		if i > 0 {
			assert.True(t, strings.HasPrefix(it.Content, "Big document (continued, part"), it.Content[:40])
		}
		total += strings.Count(it.Content, "word")
	}
	assert.Equal(t, 90*1000, total, "nothing lost in the split")

	huge := strings.Repeat("x", maxMemItChars+1)
	dir = writeFiles(t, map[string]string{"huge.txt": huge})
	items, err = readSources([]string{dir}, nil, viaMemIt)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Contains(t, items[0].Skip, "refused")
}

func TestJournalSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, err := holdJournal(path)
	require.NoError(t, err)
	require.NoError(t, j.Record(journalEntry{Key: "a", Outcome: outcomeDone, At: time.Now()}))
	require.NoError(t, j.Close())
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"key":"b","outc`) // a crash mid-write
	require.NoError(t, err)
	require.NoError(t, f.Close())

	j, err = holdJournal(path)
	require.NoError(t, err)
	require.NoError(t, j.Record(journalEntry{Key: "c", Outcome: outcomeFailed, At: time.Now()}))
	require.NoError(t, j.Close())
	j, err = holdJournal(path)
	require.NoError(t, err)
	defer j.Close()
	a, ok := j.Lookup("a")
	assert.True(t, ok)
	assert.Equal(t, outcomeDone, a.Outcome)
	_, ok = j.Lookup("b")
	assert.False(t, ok)
	c, ok := j.Lookup("c")
	assert.True(t, ok, "the entry after the torn line is intact")
	assert.Equal(t, outcomeFailed, c.Outcome)
}

func TestPlanNumbers(t *testing.T) {
	th, err := throttle.New(throttle.DefaultPolicy())
	require.NoError(t, err)
	pl := makePlan(th, viaMemIt, make([]item, 312), make([]item, 312), nil, newSummary())
	assert.Equal(t, 1, pl.Setup, "the warm-up")
	assert.Equal(t, int64(1+312), pl.Requests)
	assert.Equal(t, int64(1+312*40), pl.Complexity)
	// After the warm-up's 1 token, the k-th mem-it from full waits
	// max((k−5)·12 s + 0.3 s, (k−200)·432 s + 10.8 s): one token more at
	// 200/60 and 8000/86400 tokens a second.
	assert.Equal(t, 112*432*time.Second+10800*time.Millisecond, durationOf(pl.ETA).Round(time.Millisecond))
	require.NotNil(t, pl.DayBound)
	assert.Equal(t, 205, *pl.DayBound, "the 206th call is the first to wait on the day window")
	assert.Equal(t, "about 13 h 27 min", humanDuration(durationOf(pl.ETA)))

	// Nothing to send: no warm-up.
	pl = makePlan(th, viaMemIt, make([]item, 3), nil, nil, newSummary())
	assert.Zero(t, pl.Setup)
	assert.Zero(t, pl.Requests)

	// One collection: a list page and a creation first.
	pl = makePlan(th, viaNotes, make([]item, 300), make([]item, 300), []string{"Inbox"}, newSummary())
	assert.Equal(t, 2, pl.Setup)
	assert.Equal(t, int64(302), pl.Requests)
	assert.Equal(t, time.Duration(302-100)*600*time.Millisecond, durationOf(pl.ETA))
	assert.Nil(t, pl.DayBound)
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "no wait",
		12 * time.Second:                "about 12 s",
		90 * time.Second:                "about 2 min",
		37*time.Hour + 10*time.Minute:   "about 1 day 13 h",
		3*24*time.Hour + 2*time.Hour:    "about 3 days 2 h",
		59*time.Minute + 50*time.Second: "about 60 min",
	} {
		assert.Equal(t, want, humanDuration(d), d.String())
	}
}
