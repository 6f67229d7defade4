package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

// newFlagSet makes a subcommand's flag set, with its usage text.
func newFlagSet(env *cliEnv, name, usage string) (*flag.FlagSet, *connFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() { fmt.Fprintf(env.stderr, "Usage: %s\n\nFlags:\n", usage); fs.PrintDefaults() }
	return fs, addConnFlags(fs)
}

// parse parses args, turning a flag mistake into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

func runLimits(env *cliEnv, args []string) error {
	fs, cf := newFlagSet(env, "limits", "mem limits [flags]\n\nShows the rate-limit buckets, learnt from one cheap call (a one-note list: 1 request, 1 complexity token).")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, th, err := cf.connect(env)
	if err != nil {
		return err
	}
	_, resp, err := c.Notes.List(env.ctx, &memclient.ListNotesOptions{Limit: 1})
	if err != nil {
		return err
	}
	snap := th.Snapshot()
	if cf.json {
		printJSON(env, struct {
			Reported headers.Status    `json:"reported"`
			Mirror   throttle.Snapshot `json:"mirror"`
		}{resp.Rate, snap})
		return nil
	}
	fmt.Fprintln(env.stdout, "The server reported (most constrained window of each kind):")
	for _, k := range []headers.Kind{headers.Requests, headers.Complexity} {
		ws := resp.Rate.Of(k)
		if !ws.Present() {
			fmt.Fprintf(env.stdout, "  %-10s  not reported\n", k)
			continue
		}
		fmt.Fprintf(env.stdout, "  %-10s  %s window: %d of %d left, full again in %s\n", k, ws.Window, ws.Remaining, ws.Limit, ws.Reset)
	}
	fmt.Fprintln(env.stdout, "The local mirror, after that call:")
	tw := tabwriter.NewWriter(env.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  kind\twindow\tlevel\tlimit\tfull in")
	for _, b := range snap.Buckets {
		fmt.Fprintf(tw, "  %s\t%s\t%.1f\t%d\t%s\n", b.Kind, b.Window, b.Level, b.Limit, b.UntilFull.Round(time.Second))
	}
	tw.Flush()
	return nil
}

func runMemIt(env *cliEnv, args []string) error {
	fs, cf := newFlagSet(env, "mem-it", "mem mem-it [flags] FILE | -\n\nSends one document through mem-it (40 complexity tokens: 5 at once, then one every 12 s).")
	instructions := fs.String("instructions", "", "how Mem should process the document")
	memContext := fs.String("context", "", "background for the processing")
	atLeastOnce := fs.Bool("at-least-once", false, "retry even when the first attempt may have arrived (may capture twice)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("mem-it: name one file, or - for standard input")
	}
	var data []byte
	var err error
	if fs.Arg(0) == "-" {
		data, err = io.ReadAll(env.stdin)
	} else {
		data, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	c, _, err := cf.connect(env)
	if err != nil {
		return err
	}
	res, resp, err := c.MemIt(env.ctx, &memclient.MemItRequest{
		Input: string(data), Instructions: *instructions, Context: *memContext, AtLeastOnce: *atLeastOnce,
	})
	if err != nil {
		return err
	}
	if cf.json {
		printJSON(env, res)
		return nil
	}
	fmt.Fprintf(env.stdout, "sent: request %s (Mem processes it in the background)\n", resp.RequestID)
	return nil
}

func runNotes(env *cliEnv, args []string) error {
	if len(args) == 0 {
		return usagef("notes: say list, get ID or search QUERY")
	}
	switch args[0] {
	case "list":
		fs, cf := newFlagSet(env, "notes list", "mem notes list [flags]\n\nLists notes, most recently updated first (one call per page of up to 100).")
		limit := fs.Int("limit", 50, "how many notes at most (0: all)")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		c, _, err := cf.connect(env)
		if err != nil {
			return err
		}
		notes, err := collect(c.Notes.All(env.ctx, &memclient.ListNotesOptions{Limit: memclient.MaxListLimit}), *limit)
		if err != nil {
			return err
		}
		return printNotes(env, cf, notes)
	case "get":
		fs, cf := newFlagSet(env, "notes get", "mem notes get [flags] ID\n\nShows one note with its content.")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("notes get: name one note id")
		}
		c, _, err := cf.connect(env)
		if err != nil {
			return err
		}
		n, _, err := c.Notes.Get(env.ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if cf.json {
			printJSON(env, n)
			return nil
		}
		fmt.Fprintf(env.stdout, "%s  (id %s, version %d, updated %s)\n\n%s\n", n.Title, n.ID, n.Version, n.UpdatedAt.Format(time.RFC3339), n.Content)
		return nil
	case "search":
		fs, cf := newFlagSet(env, "notes search", "mem notes search [flags] QUERY\n\nSearches notes (Mem returns at most 100 results).")
		limit := fs.Int("limit", 20, "how many results at most")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			return usagef("notes search: give a query")
		}
		c, _, err := cf.connect(env)
		if err != nil {
			return err
		}
		notes, err := collect(c.Notes.SearchAll(env.ctx, &memclient.SearchNotesRequest{Query: strings.Join(fs.Args(), " ")}), *limit)
		if err != nil {
			return err
		}
		return printNotes(env, cf, notes)
	}
	return usagef("notes: unknown subcommand %q (list, get, search)", args[0])
}

// collect gathers up to limit items of seq (all of them when limit is 0),
// stopping at the first error.
func collect[T any](seq iter.Seq2[T, error], limit int) ([]T, error) {
	out := []T{} // [] rather than null in --json output
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

func printNotes(env *cliEnv, cf *connFlags, notes []memclient.NoteItem) error {
	if cf.json {
		printJSON(env, notes)
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUPDATED\tTITLE")
	for _, n := range notes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.ID, n.UpdatedAt.Format(time.DateTime), n.Title)
	}
	return tw.Flush()
}

func runCollections(env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return usagef("collections: the only subcommand is list")
	}
	fs, cf := newFlagSet(env, "collections list", "mem collections list [flags]\n\nLists every collection (one call per page of up to 100).")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	c, _, err := cf.connect(env)
	if err != nil {
		return err
	}
	cols, err := collect(c.Collections.All(env.ctx, &memclient.ListCollectionsOptions{Limit: memclient.MaxListLimit}), 0)
	if err != nil {
		return err
	}
	if cf.json {
		printJSON(env, cols)
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNOTES\tTITLE")
	for _, col := range cols {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", col.ID, col.NoteCount, col.Title)
	}
	return tw.Flush()
}
