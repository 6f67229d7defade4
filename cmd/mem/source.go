package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/memsdk/mem-go/memclient"
)

// item is one document to import: a file, or a line of a JSONL file.
type item struct {
	// Key identifies the item across runs: where it came from (a path
	// relative to the folder named on the command line, or file:line) and a
	// hash of its content. The journal and the note id derive from it.
	Key string
	// Where says where it came from, for messages, in one form: the path
	// relative to the folder named on the command line (a file named there:
	// its name), with ":line" for a JSONL line; "stdin" for standard input.
	Where string

	Content          string // note content, or mem-it input
	CollectionTitles []string
	Instructions     string
	Context          string
	CreatedAt        *time.Time
	UpdatedAt        *time.Time

	// NoteID, when set, is the id the note gets (a file exported by mem
	// export names its note); otherwise it derives from Key.
	NoteID string

	// ForeignFrontMatter is set when the document started with front
	// matter of another tool, left out of the note.
	ForeignFrontMatter bool

	// IgnoredMemItFields is set on a JSONL line read for notes that
	// carries fields only mem-it reads ("instructions", "context",
	// "timestamp"): the note leaves them out.
	IgnoredMemItFields bool

	// Part and Parts number the notes a document too large for one note
	// was split into (0 and 0 when it was not split).
	Part, Parts int

	// Skip, when set, says why the item can never be imported as it is
	// (empty, binary, not UTF-8, malformed): it is listed as skipped, not
	// failed, and does not make the run fail.
	Skip string
	// Err marks an item that could not be read this time (a permission, an
	// I/O error): it is reported as failed and retried next run.
	Err error
}

// problem says why the item cannot be sent ("" when it can).
func (it item) problem() string {
	switch {
	case it.Skip != "":
		return it.Skip
	case it.Err != nil:
		return it.Err.Error()
	}
	return ""
}

// Size limits, from memclient (which checks them before sending).
const (
	maxNoteBytes  = memclient.MaxNoteContent // note content on create: characters and UTF-8 bytes
	maxMemItChars = memclient.MaxMemItInput  // mem-it input, characters
)

// extensions read from folders; anything else is skipped (and counted).
var documentExtensions = []string{".md", ".markdown", ".txt", ".html", ".htm", ".eml"}

// readSources turns the command line's sources into items, in a stable
// order: folders are walked in lexical order. "-" reads standard input, as
// JSONL when its first non-blank byte is '{', else as one document.
// Problems with one source become failed or skipped items; the rest still
// come. Files of other types, and hidden files and folders (".git"), are
// skipped.
func readSources(args []string, stdin io.Reader, via string) ([]item, error) {
	var items []item
	for _, arg := range args {
		var got []item
		var err error
		if arg == "-" {
			got, err = readStdin(stdin, via)
		} else {
			got, err = readPath(arg, via)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
	}
	return items, nil
}

// readStdin reads standard input as JSONL when its first non-blank byte is
// '{', else as one document.
func readStdin(stdin io.Reader, via string) ([]item, error) {
	data, err := io.ReadAll(stdin)
	if err != nil {
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return readJSONL(bytes.NewReader(data), "stdin", via), nil
	}
	return documentItem("stdin", ".txt", data, via), nil
}

// readPath reads one file, or walks one folder in lexical order; an item's
// location is relative to the folder.
func readPath(arg, via string) ([]item, error) {
	info, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg, errors.Unwrap(err))
	}
	if !info.IsDir() {
		return fileItems(arg, filepath.Base(arg), via), nil
	}
	var items []item
	err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(arg, path)
		rel = filepath.ToSlash(rel)
		got, walkErr := walkEntry(arg, path, rel, d, err, via)
		items = append(items, got...)
		return walkErr
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// walkEntry is the items of one entry of a folder's walk, and what the walk
// does next (fs.SkipDir for a folder it cannot read or a hidden one).
func walkEntry(root, path, rel string, d fs.DirEntry, err error, via string) ([]item, error) {
	if err != nil {
		it := item{Key: rel, Where: rel, Err: unwrapPath(err)}
		if d != nil && d.IsDir() {
			return []item{it}, fs.SkipDir
		}
		return []item{it}, nil
	}
	if path != root && strings.HasPrefix(d.Name(), ".") {
		if d.IsDir() {
			return nil, fs.SkipDir
		}
		return nil, nil
	}
	if d.IsDir() {
		return nil, nil
	}
	if ext := strings.ToLower(filepath.Ext(path)); !slices.Contains(documentExtensions, ext) && !isJSONL(path) {
		return []item{{Key: rel, Where: rel, Skip: "not a document type mem imports"}}, nil
	}
	return fileItems(path, rel, via), nil
}

func isJSONL(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".jsonl" || ext == ".ndjson"
}

// fileItems reads one file: a JSONL file gives an item per line, any other
// file one document (or several parts, when too large for one note).
func fileItems(path, rel, via string) []item {
	if isJSONL(path) {
		f, err := os.Open(path)
		if err != nil {
			return []item{{Key: rel, Where: rel, Err: unwrapPath(err)}}
		}
		defer f.Close()
		return readJSONL(f, rel, via)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return []item{{Key: rel, Where: rel, Err: unwrapPath(err)}}
	}
	return documentItem(rel, strings.ToLower(filepath.Ext(path)), data, via)
}

// documentItem makes the items of one document.
func documentItem(rel, ext string, data []byte, via string) []item {
	key, where := rel+"#"+contentHash(data), rel
	if p := textProblem(data); p != "" {
		return []item{{Key: key, Where: where, Skip: p}}
	}
	text := string(data)
	var fm frontMatter
	var foreign bool
	if ext == ".md" || ext == ".markdown" {
		fm, text = parseFrontMatter(text)
		if fm.ID == "" {
			text, foreign = stripForeignFrontMatter(text)
		}
	}
	switch ext {
	case ".html", ".htm":
		if via == viaNotes { // mem-it reads HTML itself; a note wants text
			text = htmlToText(text)
		}
	case ".eml":
		text = emailToText(text)
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	if text == "" {
		return []item{{Key: key, Where: where, Skip: "empty document"}}
	}
	if via == viaMemIt {
		if n := utf8.RuneCountInString(text); n > maxMemItChars {
			return []item{{Key: key, Where: where, Skip: fmt.Sprintf("too large for mem-it: %d characters, the limit is %d (refused, not split)", n, maxMemItChars)}}
		}
		return []item{{Key: key, Where: where, Content: text, ForeignFrontMatter: foreign}}
	}
	parts := splitNote(text, maxNoteBytes)
	if len(parts) == 1 {
		it := item{Key: key, Where: where, Content: text, ForeignFrontMatter: foreign}
		fm.apply(&it)
		return []item{it}
	}
	items := make([]item, len(parts))
	for i, p := range parts {
		items[i] = item{
			Key:     fmt.Sprintf("%s#part-%d-of-%d", key, i+1, len(parts)),
			Where:   fmt.Sprintf("%s (part %d of %d)", where, i+1, len(parts)),
			Content: p,
			Part:    i + 1,
			Parts:   len(parts),
			// Said once, of the first part.
			ForeignFrontMatter: foreign && i == 0,
		}
	}
	return items
}

// textProblem says why data is not a text document mem sends ("" when it
// is): "a binary file" (it holds a NUL byte) or "not valid UTF-8 text".
func textProblem(data []byte) string {
	switch {
	case bytes.IndexByte(data, 0) >= 0:
		return "a binary file"
	case !utf8.Valid(data):
		return "not valid UTF-8 text"
	}
	return ""
}

func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// splitNote cuts text that is over limit bytes into parts of at most limit
// bytes, at paragraph breaks where it can, else at line breaks, else between
// runes. Every part after the first starts with the document's title and
// "(continued, part k)" so each note says what it belongs to.
func splitNote(text string, limit int) []string {
	if len(text) <= limit {
		return []string{text}
	}
	title, _, _ := strings.Cut(text, "\n")
	title = strings.TrimSpace(strings.TrimLeft(title, "# "))
	if len(title) > 200 {
		title = truncateRunes(title, 200)
	}
	var parts []string
	rest := text
	for len(rest) > 0 {
		budget := limit
		prefix := ""
		if len(parts) > 0 {
			prefix = fmt.Sprintf("%s (continued, part %d)\n\n", title, len(parts)+1)
			budget -= len(prefix)
		}
		if len(rest) <= budget {
			parts = append(parts, prefix+rest)
			break
		}
		cut := strings.LastIndex(rest[:budget], "\n\n")
		if cut < budget/2 {
			cut = strings.LastIndex(rest[:budget], "\n")
		}
		if cut < budget/2 {
			cut = budget
			for cut > 0 && !utf8.RuneStart(rest[cut]) {
				cut--
			}
		}
		parts = append(parts, prefix+strings.TrimSpace(rest[:cut]))
		rest = strings.TrimSpace(rest[cut:])
	}
	return parts
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

var (
	htmlTitle     = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	htmlInvisible = regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	htmlBreak     = regexp.MustCompile(`(?i)<(br|/p|/div|/h[1-6]|/li|/tr)[^>]*>`)
	htmlTag       = regexp.MustCompile(`(?s)<[^>]*>`)
	blankLines    = regexp.MustCompile(`\n[ \t]*(\n[ \t]*)+`)
)

// htmlToText keeps an HTML page's title (as the note's first line) and its
// visible text, with line breaks where blocks end. It is a plain extraction,
// not a renderer.
func htmlToText(s string) string {
	var title string
	if m := htmlTitle.FindStringSubmatch(s); m != nil {
		title = strings.TrimSpace(html.UnescapeString(m[1]))
	}
	s = htmlInvisible.ReplaceAllString(s, "")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = html.UnescapeString(htmlTag.ReplaceAllString(s, ""))
	s = strings.TrimSpace(blankLines.ReplaceAllString(s, "\n\n"))
	if title != "" && !strings.HasPrefix(s, title) {
		s = title + "\n\n" + s
	}
	return s
}

// emailToText turns a message into "Subject\n\nFrom: …\nDate: …\n\nbody".
// A message that does not parse is kept as it is.
func emailToText(s string) string {
	m, err := mail.ReadMessage(strings.NewReader(s))
	if err != nil {
		return s
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return s
	}
	var b strings.Builder
	header := func(name string) string { // RFC 2047 words decoded: =?UTF-8?Q?In=C3=AAs?=
		v := m.Header.Get(name)
		if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	subject := header("Subject")
	if subject == "" {
		subject = "(no subject)"
	}
	b.WriteString(subject + "\n\n")
	for _, h := range []string{"From", "To", "Date"} {
		if v := header(h); v != "" {
			b.WriteString(h + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}

// jsonlRecord is one line of a JSONL source. content (for notes) or input
// (for mem-it) is required; either is accepted for both, content first.
type jsonlRecord struct {
	Content          string     `json:"content"`
	Input            string     `json:"input"`
	CollectionTitles []string   `json:"collection_titles"`
	Instructions     string     `json:"instructions"`
	Context          string     `json:"context"`
	CreatedAt        *time.Time `json:"created_at"`
	UpdatedAt        *time.Time `json:"updated_at"`
	Timestamp        *time.Time `json:"timestamp"`
}

// checkRecord says why a JSONL record cannot be imported ("" when it can).
func checkRecord(it item, via string) string {
	switch {
	case strings.TrimSpace(it.Content) == "":
		return `no "content" or "input"`
	case via == viaNotes && len(it.Content) > maxNoteBytes:
		return fmt.Sprintf("content is %d bytes, over the %d a note takes (refused: split it across lines)", len(it.Content), maxNoteBytes)
	case via == viaMemIt && utf8.RuneCountInString(it.Content) > maxMemItChars:
		return fmt.Sprintf("input is over %d characters (refused)", maxMemItChars)
	case via == viaMemIt && utf8.RuneCountInString(it.Instructions) > memclient.MaxMemItInstructions:
		return fmt.Sprintf(`"instructions" is over %d characters (refused)`, memclient.MaxMemItInstructions)
	case via == viaMemIt && utf8.RuneCountInString(it.Context) > memclient.MaxMemItInstructions:
		return fmt.Sprintf(`"context" is over %d characters (refused)`, memclient.MaxMemItInstructions)
	case via == viaMemIt && len(it.CollectionTitles) > 0:
		return `"collection_titles" needs --via notes (mem-it files notes itself: say it in "instructions")`
	}
	for _, t := range it.CollectionTitles {
		if strings.TrimSpace(t) == "" {
			return `an empty title in "collection_titles"`
		}
	}
	return ""
}

// maxJSONLLine bounds one JSONL line: a mem-it input of a million
// characters, four bytes each, and room for the other fields.
const maxJSONLLine = 4*maxMemItChars + 1<<20

// readJSONL reads one item per non-blank line. A malformed line becomes a
// failed item naming its line number; the other lines still import.
func readJSONL(r io.Reader, name, via string) []item {
	var items []item
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, line)
		key := where + "#" + contentHash(raw)
		it := item{Key: key, Where: where}
		var rec jsonlRecord
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		switch err := dec.Decode(&rec); {
		case !utf8.Valid(raw):
			it.Skip = "line is not valid UTF-8"
		case err != nil:
			it.Skip = fmt.Sprintf("malformed JSON: %v", err)
		case dec.More():
			it.Skip = "malformed JSON: more than one value on the line"
		default:
			it.Content = rec.Content
			if it.Content == "" {
				it.Content = rec.Input
			}
			it.CollectionTitles = rec.CollectionTitles
			it.Instructions, it.Context = rec.Instructions, rec.Context
			it.CreatedAt, it.UpdatedAt = rec.CreatedAt, rec.UpdatedAt
			if via == viaMemIt && rec.Timestamp != nil {
				it.CreatedAt = rec.Timestamp
			}
			it.IgnoredMemItFields = via == viaNotes && (rec.Instructions != "" || rec.Context != "" || rec.Timestamp != nil)
			it.Skip = checkRecord(it, via)
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		items = append(items, item{Key: fmt.Sprintf("%s:%d", name, line+1), Where: fmt.Sprintf("%s:%d", name, line+1), Err: fmt.Errorf("reading stopped: %v", err)})
	}
	return items
}
