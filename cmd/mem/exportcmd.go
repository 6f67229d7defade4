package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

const exportLong = `Writes every note into DIR as a Markdown file whose front matter holds the
note's id, title, timestamps and collections (titles and ids). The notes come
from the list endpoint with their content, one call per 100 notes, through
the same throttle as every other command.

Resumable: a file already in DIR for a note that has not changed since (same
id, same updated_at) is left alone, so running the command again after an
interruption writes only what is missing or changed. A note whose title
changed moves to its new file name.

The files are valid input to "mem import": importing them into the same
account creates nothing twice (each keeps its note's id), and into another
account recreates the notes with their ids, times and collections.`

// exportSummary is what mem export did; also its JSON.
type exportSummary struct {
	Dir       string  `json:"dir"`
	Notes     int     `json:"notes"`     // notes listed
	Written   int     `json:"written"`   // files written (new or changed)
	Unchanged int     `json:"unchanged"` // files already up to date
	Elapsed   seconds `json:"elapsed_seconds"`
}

func newExportCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "export [flags] DIR",
		Short:   "Write every note into DIR as Markdown with front matter",
		Long:    exportLong,
		Example: "  mem export backup/ && mem import backup/   # nothing is created twice",
		Args:    exactly(1, "one directory"),
		RunE: func(_ *cobra.Command, args []string) error {
			return runExport(env, g, args[0])
		},
	}
}

// exported is a file already in the export directory.
type exported struct {
	path      string
	updatedAt time.Time
}

func runExport(env *cliEnv, g *globals, dir string) error {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export directory: %w", unwrapPath(err))
	}
	have, err := indexExport(dir)
	if err != nil {
		return err
	}
	cn, err := g.connect(env, throttle.Hooks{})
	if err != nil {
		return err
	}
	titles, err := collectionTitles(env, cn)
	if err != nil {
		return err
	}
	s := exportSummary{Dir: dir}
	lastNotice := time.Now()
	for n, err := range cn.c.Notes.All(env.ctx, &memclient.ListNotesOptions{Limit: memclient.MaxListLimit, IncludeContent: true}) {
		if err != nil {
			return exportStopped(env, s, err)
		}
		s.Notes++
		wrote, err := exportNote(env, cn, dir, n, titles, have[n.ID])
		if err != nil {
			return err
		}
		if wrote {
			s.Written++
		} else {
			s.Unchanged++
		}
		if time.Since(lastNotice) >= logEvery {
			lastNotice = time.Now()
			g.notice(env, "exported %s so far", plural(s.Notes, "note", "notes"))
		}
	}
	s.Elapsed = seconds(time.Since(start))
	if g.json {
		return printJSON(env, s)
	}
	fmt.Fprintf(env.stdout, "exported %s to %s: %d written, %d unchanged (took %s)\n",
		plural(s.Notes, "note", "notes"), dir, s.Written, s.Unchanged, fmtDuration(durationOf(s.Elapsed)))
	return nil
}

// exportStopped says how far an export got before err, and how to go on.
func exportStopped(env *cliEnv, s exportSummary, err error) error {
	done := plural(s.Notes, "note", "notes") + " exported. Run the same command again to resume."
	if env.ctx.Err() != nil {
		env.complain(errorJSON{Type: "interrupted", Message: "interrupted: " + done}, "Interrupted:", done)
		return errInterrupted
	}
	e := errorOf(err)
	e.Message = "export stopped: " + e.Message + ": " + done
	env.complain(e, "mem: export stopped:", describe(err)+": "+done)
	return errReported
}

// indexExport reads the front matter of the Markdown files in dir: which
// note each holds, as of when.
func indexExport(dir string) (map[string]exported, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	have := map[string]exported{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
		}
		if fm, _ := parseFrontMatter(string(data)); fm.ID != "" {
			have[fm.ID] = exported{p, fm.UpdatedAt}
		}
	}
	return have, nil
}

// collectionTitles maps every collection's id to its title.
func collectionTitles(env *cliEnv, cn *conn) (map[string]string, error) {
	cols, err := allCollections(env, cn)
	if err != nil {
		return nil, err
	}
	titles := map[string]string{}
	for _, c := range cols {
		titles[c.ID] = c.Title
	}
	return titles, nil
}

// exportNote writes n's file unless prev already holds this version; it
// reports whether it wrote.
func exportNote(env *cliEnv, cn *conn, dir string, n memclient.NoteItem, titles map[string]string, prev exported) (bool, error) {
	path := filepath.Join(dir, exportName(n))
	if prev.path == path && prev.updatedAt.Equal(n.UpdatedAt) {
		return false, nil
	}
	content := ""
	if n.Content != nil {
		content = *n.Content
	} else { // the server left it out: read the note
		full, _, err := cn.c.Notes.Get(env.ctx, n.ID)
		if err != nil {
			return false, err
		}
		content = full.Content
	}
	fm := frontMatter{ID: n.ID, Title: n.Title, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, CollectionIDs: n.CollectionIDs}
	for _, id := range n.CollectionIDs {
		if t, ok := titles[id]; ok {
			fm.Collections = append(fm.Collections, t)
		}
	}
	if err := writeFileAtomic(path, []byte(fm.render(content))); err != nil {
		return false, err
	}
	if prev.path != "" && prev.path != path {
		_ = os.Remove(prev.path) // the title changed: the old name goes
	}
	return true, nil
}

var unsafeName = regexp.MustCompile(`[^\p{L}\p{N}]+`)

// exportName is a note's file name: its title made safe, and the start of
// its id to keep names apart ("garden-ideas-0b6f6c1e.md").
func exportName(n memclient.NoteItem) string {
	slug := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(n.Title), "-"), "-")
	slug = strings.TrimRight(truncateRunes(slug, 60), "-")
	if slug == "" {
		slug = "note"
	}
	return slug + "-" + strings.ReplaceAll(n.ID, "-", "")[:8] + ".md"
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so an interruption never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mem-export-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
