package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"
)

// terminalWidth returns w's width in columns when w is a terminal.
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		return 80, true
	}
	return cols, true
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	_, ok := terminalWidth(w)
	return ok
}

// style colours text written to a terminal, unless NO_COLOR is set (to
// anything) or TERM is "dumb"; elsewhere it returns text unchanged.
type style struct{ on bool }

func newStyle(w io.Writer, env *cliEnv) style {
	return style{on: isTerminal(w) && env.env("NO_COLOR") == "" && env.env("TERM") != "dumb"}
}

func (s style) paint(code, text string) string {
	if !s.on || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) red(text string) string   { return s.paint("31", text) }
func (s style) green(text string) string { return s.paint("32", text) }
func (s style) bold(text string) string  { return s.paint("1", text) }
func (s style) dim(text string) string   { return s.paint("2", text) }

// printTable writes header (cells separated by tabs) and the rows that
// rows writes as aligned columns. The header is made bold once aligned, as
// one line: bold codes inside the cells would count as width and shift the
// header's columns from the rows'.
func printTable(w io.Writer, st style, header string, rows func(io.Writer)) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	if err := tw.Flush(); err != nil {
		return err
	}
	head, rest, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	if _, err := fmt.Fprintln(w, st.bold(strings.TrimRight(string(head), " "))); err != nil {
		return err
	}
	_, err := w.Write(rest)
	return err
}

// plural says "1 note", "2 notes", "0 notes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// printJSON writes v as indented JSON on standard output.
func printJSON(env *cliEnv, v any) error {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// seconds is a duration that encodes in JSON as seconds, a float with
// millisecond precision: 1.5, not 1500000000.
type seconds time.Duration

// MarshalJSON encodes the duration in seconds.
func (s seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Round(time.Millisecond).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON decodes seconds, as MarshalJSON writes them.
func (s *seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("seconds: %w", err)
	}
	*s = seconds(f * float64(time.Second))
	return nil
}

// durationOf converts back.
func durationOf(s seconds) time.Duration { return time.Duration(s) }

// jsonTime encodes a time in RFC 3339 (UTC), and a zero time as null.
type jsonTime time.Time

// MarshalJSON encodes t, or null for the zero time.
func (t jsonTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339Nano))
}

// shorten cuts s to at most n characters, ending in "…" when cut.
func shorten(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return truncateRunes(s, n-1) + "…"
}

// fmtDuration prints d rounded for people: "31s", "1m58s", "850ms".
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// notice prints a line on standard error unless --quiet.
func (g *globals) notice(env *cliEnv, format string, args ...any) {
	if g.quiet {
		return
	}
	fmt.Fprintf(env.stderr, format+"\n", args...)
}

// safeText makes text from the server or from files harmless on a
// terminal: every control character (C0, DEL, C1), every bidirectional
// control (U+202A–U+202E, U+2066–U+2069, and the marks U+200E, U+200F,
// U+061C) and every byte that is not UTF-8 is written as a Go escape
// (\x1b, \u202e, \xff) instead of acting on the terminal. A newline or tab
// is escaped too: one field stays on one line.
func safeText(s string) string { return escapeControls(s, false) }

// safeLines is safeText for text of several lines (a note's content, an
// error message): newlines and tabs stay as they are.
func safeLines(s string) string { return escapeControls(s, true) }

func escapeControls(s string, keepLines bool) string {
	clean := func(r rune) bool {
		return !isControl(r) || (keepLines && (r == '\n' || r == '\t'))
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return !clean(r) }) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case clean(r):
			b.WriteString(s[:size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[size:]
	}
	return b.String()
}

// isControl reports whether r acts on a terminal rather than showing:
// a C0 or C1 control, DEL, or a bidirectional control.
func isControl(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }
