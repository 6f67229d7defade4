package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadJSONL feeds arbitrary bytes to the JSONL reader, for both ways of
// importing: it must not panic, must return one item per non-blank line (or,
// when a line is longer than it reads, the items before it and one error),
// and every item must either carry an error or a reason to skip it, or hold non-empty content within
// the size limit of its way (a note: maxNoteBytes UTF-8 bytes, and so
// characters; mem-it: maxMemItChars characters), valid UTF-8. Its seed corpus
// runs as a normal test. The seeds stay small (the fuzzer minimises every new
// input, which is slow for large ones); TestReadJSONLSizeLimits covers the
// limits themselves.
func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{
		"",
		"\n\n  \n",
		`{"content":"Title\nbody"}`,
		`{"input":"captured","instructions":"summarise","context":"work"}` + "\n" + `{"content":"x","collection_titles":["A","B"]}`,
		`{"content":"a","created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05+02:00","timestamp":"2024-01-01T00:00:00Z"}`,
		`{"content":""}` + "\n" + `{"content":"   "}` + "\n" + `{"input":"\t"}`,
		`{"content":"x"} {"content":"y"}`,
		`{"content":"x","unknown":1}`,
		`{"content":"\ud800"}`,
		"{\"content\":\"\xff\"}",
		"\xef\xbb\xbf{\"content\":\"bom\"}",
		"{\"content\":\"crlf\"}\r\n{\"content\":\"two\"}\r\n",
		`[1,2,3]`,
		`null`,
		`{"content":null,"input":"y"}`,
		"\u00a0\n\u0085\n{\"content\":\"after unicode spaces\"}",
		`{"input":"` + strings.Repeat("a", 1000) + `"}`,
		`{"created_at":"not a time","content":"x"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}

	f.Fuzz(func(t *testing.T, data []byte, memIt bool) {
		via := viaNotes
		if memIt {
			via = viaMemIt
		}
		items := readJSONL(bytes.NewReader(data), "in.jsonl", via)

		want, long := 0, false
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) > maxJSONLLine {
				long = true
				break
			}
			if len(bytes.TrimSpace(line)) > 0 {
				want++
			}
		}
		if long {
			if len(items) > want+1 || len(items) == 0 || items[len(items)-1].problem() == "" {
				t.Fatalf("a line over %d bytes: %d items for %d non-blank lines before it, last %+v", maxJSONLLine, len(items), want, items[len(items)-1:])
			}
		} else if len(items) != want {
			t.Fatalf("%d items for %d non-blank lines", len(items), want)
		}

		for i, it := range items {
			if it.Key == "" || it.Where == "" {
				t.Fatalf("item %d has no key or place: %+v", i, it)
			}
			if it.problem() != "" {
				continue
			}
			switch {
			case strings.TrimSpace(it.Content) == "":
				t.Fatalf("item %d (%s): no error and empty content", i, it.Where)
			case !utf8.ValidString(it.Content):
				t.Fatalf("item %d (%s): no error and content not valid UTF-8", i, it.Where)
			case via == viaNotes && (len(it.Content) > maxNoteBytes || utf8.RuneCountInString(it.Content) > maxNoteBytes):
				t.Fatalf("item %d (%s): no error and a note of %d bytes, over %d", i, it.Where, len(it.Content), maxNoteBytes)
			case via == viaMemIt && utf8.RuneCountInString(it.Content) > maxMemItChars:
				t.Fatalf("item %d (%s): no error and a mem-it input over %d characters", i, it.Where, maxMemItChars)
			}
		}
	})
}

// TestReadJSONLSizeLimits checks the readers' size limits at and just past
// each limit, for the inputs too large to be fuzz seeds.
func TestReadJSONLSizeLimits(t *testing.T) {
	line := func(field string, n int, r string) string {
		return `{"` + field + `":"` + strings.Repeat(r, n) + `"}` + "\n"
	}
	for _, c := range []struct {
		name, via, data string
		err             bool
	}{
		{"note at the byte limit", viaNotes, line("content", maxNoteBytes/2, "é"), false},
		{"note one character over in bytes", viaNotes, line("content", maxNoteBytes/2+1, "é"), true},
		{"note of ASCII one over", viaNotes, line("content", maxNoteBytes+1, "a"), true},
		{"mem-it at the character limit", viaMemIt, line("input", maxMemItChars, "é"), false},
		{"mem-it one character over", viaMemIt, line("input", maxMemItChars+1, "é"), true},
		{"mem-it input of 4-byte runes at the limit", viaMemIt, line("input", maxMemItChars, "😀"), false},
	} {
		items := readJSONL(strings.NewReader(c.data), "in.jsonl", c.via)
		if len(items) != 1 {
			t.Fatalf("%s: %d items", c.name, len(items))
		}
		if got := items[0].problem() != ""; got != c.err {
			t.Errorf("%s: problem %q, want one %v", c.name, items[0].problem(), c.err)
		}
	}
}
