package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

func newNotesCmd(env *cliEnv, g *globals) *cobra.Command {
	return group("notes", "List, read, search, create, update, delete and restore notes",
		newNotesListCmd(env, g),
		newNotesGetCmd(env, g),
		newNotesSearchCmd(env, g),
		newNotesCreateCmd(env, g),
		newNotesUpdateCmd(env, g),
		newNotesDeleteCmd(env, g),
		newNotesRestoreCmd(env, g),
	)
}

// noteListOutput is the JSON of notes list and notes search.
type noteListOutput struct {
	Notes []memclient.NoteItem `json:"notes"`
	// Total is how many notes match in all (list: every page; search:
	// what the server returned).
	Total   int  `json:"total"`
	HasMore bool `json:"has_more"` // more than shown: --limit N or --all
}

func newNotesListCmd(env *cliEnv, g *globals) *cobra.Command {
	var (
		limit      int
		all        bool
		collection string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List notes, most recently updated first",
		Long:  "Lists notes, most recently updated first: one call per page of up to 100.",
		Args:  exactly(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			if limit < 1 {
				return usagef("--limit must be at least 1 (--all lists every note)")
			}
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			opts := &memclient.ListNotesOptions{Limit: memclient.MaxListLimit}
			if collection != "" {
				if opts.CollectionID, err = resolveCollection(env, cn, collection); err != nil {
					return err
				}
			}
			out, err := listNotes(env, cn, opts, limit, all)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(env, out)
			}
			printNoteTable(env, out.Notes, "no notes")
			if out.HasMore {
				g.notice(env, "Showing %d of %s: --limit N or --all for more.", len(out.Notes), plural(out.Total, "note", "notes"))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most `N` notes")
	cmd.Flags().BoolVar(&all, "all", false, "show every note (one call per 100)")
	cmd.Flags().StringVar(&collection, "collection", "", "only the notes of this collection (`ID or TITLE`)")
	return cmd
}

// listNotes fetches pages until limit notes (or all of them).
func listNotes(env *cliEnv, cn *conn, opts *memclient.ListNotesOptions, limit int, all bool) (noteListOutput, error) {
	out := noteListOutput{Notes: []memclient.NoteItem{}}
	for {
		page, _, err := cn.c.Notes.List(env.ctx, opts)
		if err != nil {
			return out, err
		}
		out.Total = page.Total
		for _, n := range page.Results {
			if !all && len(out.Notes) == limit {
				out.HasMore = true
				return out, nil
			}
			out.Notes = append(out.Notes, n)
		}
		if page.NextPage == "" {
			return out, nil
		}
		if !all && len(out.Notes) == limit {
			out.HasMore = true
			return out, nil
		}
		opts.Page = page.NextPage
	}
}

// printNoteTable prints notes as a table whose titles fit the terminal, or
// the line none (a result, not a notice: --quiet keeps it) when there are
// no notes.
func printNoteTable(env *cliEnv, notes []memclient.NoteItem, none string) {
	if len(notes) == 0 {
		fmt.Fprintln(env.stdout, none)
		return
	}
	const idWidth, updatedWidth, gaps = 36, 19, 4
	titleWidth := 1 << 30
	if cols, ok := terminalWidth(env.stdout); ok {
		titleWidth = max(10, cols-idWidth-updatedWidth-gaps-1)
	}
	printTable(env.stdout, newStyle(env.stdout, env), "ID\tUPDATED\tTITLE", func(tw io.Writer) {
		for _, n := range notes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", safeText(n.ID), n.UpdatedAt.UTC().Format(time.DateTime), shorten(safeText(n.Title), titleWidth))
		}
	})
}

func newNotesGetCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one note with its content",
		Args:  noteIDsFrom(0, exactly(1, "one note ID")),
		RunE: func(_ *cobra.Command, args []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			n, _, err := cn.c.Notes.Get(env.ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(env, n)
			}
			printNote(env, n)
			return nil
		},
	}
}

// printNote prints a note's header lines and content.
func printNote(env *cliEnv, n *memclient.Note) {
	st := newStyle(env.stdout, env)
	fmt.Fprintln(env.stdout, st.bold(safeText(n.Title)))
	meta := fmt.Sprintf("id %s, version %d\ncreated %s, updated %s", safeText(n.ID), n.Version,
		n.CreatedAt.UTC().Format(time.RFC3339), n.UpdatedAt.UTC().Format(time.RFC3339))
	if len(n.CollectionIDs) > 0 {
		meta += ", in " + plural(len(n.CollectionIDs), "collection", "collections")
	}
	if n.TrashedAt != nil {
		meta += "\nin the trash since " + n.TrashedAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(env.stdout, "%s\n\n%s\n", st.dim(meta), safeLines(n.Content))
}

func newNotesSearchCmd(env *cliEnv, g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "search QUERY...",
		Short: "Search notes (Mem returns at most 100 results)",
		Args:  atLeast(1, "a query"),
		RunE: func(_ *cobra.Command, args []string) error {
			if limit < 1 || limit > 100 {
				return usagef("--limit must be between 1 and 100 (Mem returns at most 100 results)")
			}
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			res, _, err := cn.c.Notes.Search(env.ctx, &memclient.SearchNotesRequest{Query: strings.Join(args, " "), Limit: limit})
			if err != nil {
				return err
			}
			out := noteListOutput{Notes: res.Results, Total: res.Total, HasMore: res.HasNextPage}
			if out.Notes == nil {
				out.Notes = []memclient.NoteItem{}
			}
			if g.json {
				return printJSON(env, out)
			}
			printNoteTable(env, out.Notes, "no notes match")
			if out.HasMore {
				g.notice(env, "Showing the first %d: --limit N (up to 100) for more.", len(out.Notes))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most `N` results (up to 100)")
	return cmd
}

// noteContent is the content of a new or updated note: --content, or a file
// or - (standard input) as the one argument; and where it came from, for
// messages ("--content", the file's name, "standard input").
func noteContent(env *cliEnv, content string, contentSet bool, args []string) (text, source string, err error) {
	switch {
	case contentSet && len(args) > 0:
		return "", "", usagef("give the content with --content or as a FILE, not both")
	case contentSet:
		return content, "--content", nil
	case len(args) == 0:
		return "", "", usagef("give the content: a FILE, - for standard input, or --content TEXT")
	}
	data, err := readInput(env, args[0])
	return string(data), inputName(args[0]), err
}

func newNotesCreateCmd(env *cliEnv, g *globals) *cobra.Command {
	var (
		content     string
		id          string
		collections []string
	)
	cmd := &cobra.Command{
		Use:   "create [FILE | -]",
		Short: "Create a note from a file, standard input or --content",
		Long:  "Creates a note; its first line becomes the title. With --id the create is\nsafe to repeat: a second one is refused, not duplicated.",
		Example: `  mem notes create --content "Groceries

- miso"
  mem notes create meeting.md --collection Work`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, source, err := noteContent(env, content, cmd.Flags().Changed("content"), args)
			if err != nil {
				return err
			}
			if id != "" && uuid.Validate(id) != nil {
				return usagef("--id must be a UUID, not %q", id)
			}
			if err := checkTitles(collections); err != nil {
				return err
			}
			req := &memclient.CreateNoteRequest{ID: id, Content: text}
			if err := inputProblem(source, req.Validate()); err != nil {
				return err
			}
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			if len(collections) > 0 {
				ids, err := clientAPI{cn.c}.EnsureCollections(env.ctx, collections)
				if err != nil {
					return err
				}
				for _, t := range collections {
					req.CollectionIDs = append(req.CollectionIDs, ids[strings.ToLower(t)])
				}
			}
			n, _, err := cn.c.Notes.Create(env.ctx, req)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(env, n)
			}
			fmt.Fprintf(env.stdout, "created note %s: %s\n", safeText(n.ID), safeText(n.Title))
			return nil
		},
	}
	cmd.Flags().StringVar(&content, "content", "", "the note's `TEXT` (instead of a file)")
	cmd.Flags().StringVar(&id, "id", "", "the note's `UUID` (default: a new one)")
	cmd.Flags().StringArrayVar(&collections, "collection", nil, "put the note in the collection with this `TITLE`, created if missing (repeatable)")
	return cmd
}

// checkTitles refuses empty collection titles.
func checkTitles(titles []string) error {
	for _, t := range titles {
		if strings.TrimSpace(t) == "" {
			return usagef("--collection needs a title, not an empty string")
		}
	}
	return nil
}

func newNotesUpdateCmd(env *cliEnv, g *globals) *cobra.Command {
	var (
		content string
		version int64
	)
	cmd := &cobra.Command{
		Use:   "update ID [FILE | -]",
		Short: "Replace a note's content",
		Long: `Replaces a note's content from a file, standard input or --content.
With --if-version the update is refused when someone changed the note since
that version; without it, the current version is read first (one more call).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.RangeArgs(1, 2)(cmd, args); err != nil {
				return err
			}
			return noteIDsFrom(0, cobra.ArbitraryArgs)(cmd, args[:1]) // then FILE
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			text, source, err := noteContent(env, content, cmd.Flags().Changed("content"), args[1:])
			if err != nil {
				return err
			}
			// The version is read later when not given: any valid one checks the rest.
			probe := &memclient.UpdateNoteRequest{Content: text, Version: max(version, 1)}
			if err := inputProblem(source, probe.Validate()); err != nil {
				return err
			}
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			if version == 0 {
				n, _, err := cn.c.Notes.Get(env.ctx, args[0])
				if err != nil {
					return err
				}
				version = n.Version
			}
			n, _, err := cn.c.Notes.Update(env.ctx, args[0], &memclient.UpdateNoteRequest{Content: text, Version: version})
			var ce *memclient.ConflictError
			if errors.As(err, &ce) && ce.Reason == memclient.ReasonVersionConflict {
				return fmt.Errorf("note %s changed since version %d (it is at version %d): nothing was updated", args[0], version, ce.CurrentVersion)
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(env, n)
			}
			fmt.Fprintf(env.stdout, "updated note %s: %s (version %d)\n", safeText(n.ID), safeText(n.Title), n.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&content, "content", "", "the new `TEXT` (instead of a file)")
	cmd.Flags().Int64Var(&version, "if-version", 0, "update only if the note is still at this `VERSION`")
	return cmd
}

// idResult is the JSON of commands that act on one id.
type idResult struct {
	ID     string `json:"id"`
	Action string `json:"action"` // "trashed", "deleted", "restored", …
}

func newNotesDeleteCmd(env *cliEnv, g *globals) *cobra.Command {
	var permanently bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Move a note to the trash (--permanently: delete it for good)",
		Long:  "Moves a note to the trash, not deleting it: \"mem notes restore\" brings it\nback. Only --permanently deletes it for good.",
		Args:  noteIDsFrom(0, exactly(1, "one note ID")),
		RunE: func(_ *cobra.Command, args []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			res := idResult{ID: args[0], Action: "trashed"}
			if permanently {
				res.Action = "deleted"
				_, err = cn.c.Notes.Delete(env.ctx, args[0])
			} else {
				_, err = cn.c.Notes.Trash(env.ctx, args[0])
			}
			if err != nil {
				return err
			}
			return printIDResult(env, g, res, map[string]string{
				"trashed": "moved note %s to the trash, not deleted\n(mem notes restore brings it back)",
				"deleted": "deleted note %s for good",
			})
		},
	}
	cmd.Flags().BoolVar(&permanently, "permanently", false, "delete for good instead of moving to the trash")
	return cmd
}

func newNotesRestoreCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "restore ID",
		Short: "Bring a note back from the trash",
		Args:  noteIDsFrom(0, exactly(1, "one note ID")),
		RunE: func(_ *cobra.Command, args []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			if _, err := cn.c.Notes.Restore(env.ctx, args[0]); err != nil {
				return err
			}
			return printIDResult(env, g, idResult{ID: args[0], Action: "restored"}, map[string]string{"restored": "restored note %s from the trash"})
		},
	}
}

// printIDResult prints res as JSON, or with the text for its action.
func printIDResult(env *cliEnv, g *globals, res idResult, text map[string]string) error {
	if g.json {
		return printJSON(env, res)
	}
	fmt.Fprintf(env.stdout, text[res.Action]+"\n", res.ID)
	return nil
}
