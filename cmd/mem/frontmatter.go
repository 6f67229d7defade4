package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// frontMatter is the header mem export writes at the top of each Markdown
// file, and mem import reads back:
//
//	---
//	id: "0b6f6c1e-…"
//	title: "Garden ideas"
//	created_at: "2025-03-01T09:30:00Z"
//	updated_at: "2025-03-02T10:00:00Z"
//	collections: ["Home", "Garden"]
//	collection_ids: ["…", "…"]
//	---
//
// Every value is JSON, which is also valid YAML, so other tools read it.
// Import uses the id (a re-import meets the existing note instead of
// duplicating it), the times and the collections (by title, created when
// missing). A header without a valid id is not ours: the file is imported
// as it is, header included.
type frontMatter struct {
	ID            string    `json:"id"`
	Title         string    `json:"title"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	Collections   []string  `json:"collections"`
	CollectionIDs []string  `json:"collection_ids"`
}

// frontMatterOrder is the order of the keys in a written header.
var frontMatterOrder = []string{"id", "title", "created_at", "updated_at", "collections", "collection_ids"}

// render writes the header and the content: a complete file.
func (fm frontMatter) render(content string) string {
	values := map[string]any{
		"id": fm.ID, "title": fm.Title,
		"created_at": fm.CreatedAt.UTC().Format(time.RFC3339Nano), "updated_at": fm.UpdatedAt.UTC().Format(time.RFC3339Nano),
		"collections": nonNil(fm.Collections), "collection_ids": nonNil(fm.CollectionIDs),
	}
	var b strings.Builder
	b.WriteString("---\n")
	for _, k := range frontMatterOrder {
		v, _ := json.Marshal(values[k])
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	b.WriteString("---\n\n")
	b.WriteString(content)
	if !strings.HasSuffix(content, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// parseFrontMatter splits text into its header and the content after it.
// Text without a header of ours comes back whole, with a zero header.
func parseFrontMatter(text string) (frontMatter, string) {
	rest, ok := strings.CutPrefix(strings.ReplaceAll(text, "\r\n", "\n"), "---\n")
	if !ok {
		return frontMatter{}, text
	}
	header, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		header, ok = strings.CutSuffix(rest, "\n---")
		body = ""
	}
	if !ok {
		return frontMatter{}, text
	}
	fields := map[string]json.RawMessage{}
	for line := range strings.SplitSeq(header, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !json.Valid([]byte(strings.TrimSpace(v))) {
			return frontMatter{}, text
		}
		fields[strings.TrimSpace(k)] = json.RawMessage(strings.TrimSpace(v))
	}
	raw, _ := json.Marshal(fields)
	var fm frontMatter
	if json.Unmarshal(raw, &fm) != nil || uuid.Validate(fm.ID) != nil {
		return frontMatter{}, text
	}
	return fm, strings.TrimLeft(body, "\n")
}

// apply gives it what the header says: the note's id, its times and its
// collections.
func (fm frontMatter) apply(it *item) {
	if fm.ID == "" {
		return
	}
	it.NoteID = fm.ID
	if !fm.CreatedAt.IsZero() {
		t := fm.CreatedAt
		it.CreatedAt = &t
	}
	if !fm.UpdatedAt.IsZero() {
		t := fm.UpdatedAt
		it.UpdatedAt = &t
	}
	it.CollectionTitles = fm.Collections
}

// yamlKeyLine is a line of a YAML mapping's top level: "key: value" or
// "key:".
var yamlKeyLine = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_ .-]*:(\s|$)`)

// maxForeignHeader bounds the lines a foreign header may have.
const maxForeignHeader = 200

// stripForeignFrontMatter takes off the front matter another tool wrote
// (Obsidian, Jekyll, Hugo: a block of YAML between "---" lines at the top of
// the file), which would otherwise make the note's title "---". Every line of
// the block must look like YAML (a "key:" line, an indented or "- " line, a
// comment, a blank); anything else means the "---" was a rule, and the text
// is left as it is. When the block has a title and the body does not start
// with it, the title becomes the first line. It reports whether it took a
// block off.
func stripForeignFrontMatter(text string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.ReplaceAll(text, "\r\n", "\n"), "---\n")
	if !ok {
		return text, false
	}
	lines := strings.Split(rest, "\n")
	var title string
	for i, line := range lines {
		if i > maxForeignHeader {
			return text, false
		}
		if strings.TrimRight(line, " ") == "---" {
			body := strings.TrimLeft(strings.Join(lines[i+1:], "\n"), "\n")
			first, _, _ := strings.Cut(body, "\n")
			if title != "" && strings.TrimSpace(strings.TrimLeft(first, "# ")) != title {
				body = title + "\n\n" + body
			}
			return body, true
		}
		switch {
		case strings.TrimSpace(line) == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, " "),
			strings.HasPrefix(line, "\t"), strings.HasPrefix(line, "- "):
		case yamlKeyLine.MatchString(line):
			if v, ok := strings.CutPrefix(line, "title:"); ok {
				title = strings.Trim(strings.TrimSpace(v), `"'`)
			}
		default:
			return text, false
		}
	}
	return text, false // never closed
}
