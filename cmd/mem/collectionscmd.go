package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

func newCollectionsCmd(env *cliEnv, g *globals) *cobra.Command {
	return group("collections", "List, create and delete collections, and the notes in them",
		newCollectionsListCmd(env, g),
		newCollectionsCreateCmd(env, g),
		newCollectionsDeleteCmd(env, g),
		newCollectionsMemberCmd(env, g, "add"),
		newCollectionsMemberCmd(env, g, "remove"),
	)
}

// collectionListOutput is the JSON of collections list.
type collectionListOutput struct {
	Collections []memclient.Collection `json:"collections"`
	Total       int                    `json:"total"`
}

func newCollectionsListCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every collection",
		Long:  "Lists every collection: one call per page of up to 100.",
		Args:  exactly(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			cols, err := allCollections(env, cn)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(env, collectionListOutput{cols, len(cols)})
			}
			if len(cols) == 0 {
				fmt.Fprintln(env.stdout, "no collections") // the result: --quiet keeps it
				return nil
			}
			titleWidth := 1 << 30
			if cols, ok := terminalWidth(env.stdout); ok {
				titleWidth = max(10, cols-36-5-4-1)
			}
			return printTable(env.stdout, newStyle(env.stdout, env), "ID\tNOTES\tTITLE", func(tw io.Writer) {
				for _, col := range cols {
					fmt.Fprintf(tw, "%s\t%d\t%s\n", safeText(col.ID), col.NoteCount, shorten(safeText(col.Title), titleWidth))
				}
			})
		},
	}
}

// allCollections lists every collection.
func allCollections(env *cliEnv, cn *conn) ([]memclient.Collection, error) {
	cols := []memclient.Collection{}
	for col, err := range cn.c.Collections.All(env.ctx, &memclient.ListCollectionsOptions{Limit: memclient.MaxListLimit}) {
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// collectionsTitled returns the ids of the collections titled title
// (case-insensitively, as resolveCollection matches them): one list call
// per 100 collections.
func collectionsTitled(env *cliEnv, cn *conn, title string) ([]string, error) {
	cols, err := allCollections(env, cn)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, col := range cols {
		if strings.EqualFold(col.Title, title) {
			found = append(found, col.ID)
		}
	}
	return found, nil
}

// resolveCollection returns the id of the collection ref names: an id as it
// is, else the one collection with that title (case-insensitively).
func resolveCollection(env *cliEnv, cn *conn, ref string) (string, error) {
	if uuid.Validate(ref) == nil {
		return ref, nil
	}
	found, err := collectionsTitled(env, cn, ref)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no collection is titled %q (mem collections list shows them)", ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d collections are titled %q: name one by its id (%s)", len(found), ref, strings.Join(found, ", "))
}

func newCollectionsCreateCmd(env *cliEnv, g *globals) *cobra.Command {
	var description, id string
	cmd := &cobra.Command{
		Use:   "create TITLE",
		Short: "Create a collection",
		Long: `Creates a collection. It lists the collections first (one call per 100) and
warns when one already has this title: commands that take a collection by
its title then need its id.`,
		Args: exactly(1, "one title (quote it if it has spaces)"),
		RunE: func(_ *cobra.Command, args []string) error {
			if strings.TrimSpace(args[0]) == "" {
				return usagef("a collection needs a title, not an empty string")
			}
			if id != "" && uuid.Validate(id) != nil {
				return usagef("--id must be a UUID, not %q", id)
			}
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			same, err := collectionsTitled(env, cn, args[0])
			if err != nil {
				return err
			}
			col, _, err := cn.c.Collections.Create(env.ctx, &memclient.CreateCollectionRequest{ID: id, Title: args[0], Description: description})
			if err != nil {
				return err
			}
			if len(same) > 0 { // a warning, not a notice: --quiet keeps it
				fmt.Fprintf(env.stderr, "Warning: %s already titled %q (%s): commands that take a collection by title will ask for an id.\n",
					plural(len(same), "collection was", "collections were"), args[0], safeText(strings.Join(same, ", ")))
			}
			if g.json {
				return printJSON(env, col)
			}
			fmt.Fprintf(env.stdout, "created collection %s: %s\n", safeText(col.ID), safeText(col.Title))
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the collection holds")
	cmd.Flags().StringVar(&id, "id", "", "the collection's `UUID` (default: a new one)")
	return cmd
}

func newCollectionsDeleteCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID|TITLE",
		Short: "Delete a collection (its notes stay)",
		Args:  exactly(1, "one collection ID or TITLE"),
		RunE: func(_ *cobra.Command, args []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			id, err := resolveCollection(env, cn, args[0])
			if err != nil {
				return err
			}
			if _, err := cn.c.Collections.Delete(env.ctx, id); err != nil {
				return err
			}
			return printIDResult(env, g, idResult{ID: id, Action: "deleted"}, map[string]string{"deleted": "deleted collection %s (its notes stay)"})
		},
	}
}

// memberResult is the JSON of collections add and remove.
type memberResult struct {
	CollectionID string   `json:"collection_id"`
	Action       string   `json:"action"` // "added" or "removed"
	NoteIDs      []string `json:"note_ids"`
}

// newCollectionsMemberCmd builds "add" or "remove".
func newCollectionsMemberCmd(env *cliEnv, g *globals, verb string) *cobra.Command {
	short, done, prep := "Add notes to a collection", "added", "to"
	if verb == "remove" {
		short, done, prep = "Remove notes from a collection (the notes stay)", "removed", "from"
	}
	return &cobra.Command{
		Use:   verb + " COLLECTION NOTE_ID...",
		Short: short,
		Long:  short + ".\nCOLLECTION is an id or a title; one call per note.",
		Args:  noteIDsFrom(1, atLeast(2, "a collection (ID or TITLE) and at least one note ID")),
		RunE: func(_ *cobra.Command, args []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			colID, err := resolveCollection(env, cn, args[0])
			if err != nil {
				return err
			}
			res := memberResult{CollectionID: colID, Action: done, NoteIDs: []string{}}
			for _, noteID := range args[1:] {
				if verb == "add" {
					_, err = cn.c.Collections.AddNote(env.ctx, colID, noteID)
				} else {
					_, err = cn.c.Collections.RemoveNote(env.ctx, colID, noteID)
				}
				if err != nil {
					return fmt.Errorf("note %s: %s (%s done before it)", noteID, describe(err), plural(len(res.NoteIDs), "note", "notes"))
				}
				res.NoteIDs = append(res.NoteIDs, noteID)
			}
			if g.json {
				return printJSON(env, res)
			}
			fmt.Fprintf(env.stdout, "%s %s %s collection %s\n", done, plural(len(res.NoteIDs), "note", "notes"), prep, colID)
			return nil
		},
	}
}
