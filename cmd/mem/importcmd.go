package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const importUsage = `Usage: mem import [flags] PATH... | -

Imports documents into Mem at the highest rate the limits allow, resumably:
every outcome goes to a journal as it happens, and running the same command
again skips what is done. Notes get ids derived from each document (its path
and content), so even without the journal a document is never created twice.

Sources: files and folders (recursive: .md .markdown .txt .html .htm .eml),
JSONL files (.jsonl: one JSON object per line with "content" or "input", and
optionally "collection_titles", "instructions", "context", "created_at",
"updated_at", "timestamp"), or - for standard input (JSONL when it starts
with '{', else one document).

Exit status: 0 when every document made it, 1 when some did not (they are
listed, and retried on the next run), 2 for a usage error.

Flags:
`

func runImport(env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() { fmt.Fprint(env.stderr, importUsage); fs.PrintDefaults() }
	cf := addConnFlags(fs)
	var collections stringList
	via := fs.String("via", viaNotes, "how documents enter Mem: notes (one note each, as written) or mem-it (Mem organises them; 40 complexity tokens each)")
	fs.Var(&collections, "collection", "add every note to the collection with this `TITLE`, created if missing (repeatable; notes only)")
	instructions := fs.String("instructions", "", "mem-it instructions for every document")
	memContext := fs.String("context", "", "mem-it context for every document")
	concurrency := fs.Int("concurrency", 4, "calls in flight at once (the throttle keeps them inside the limits)")
	journalPath := fs.String("journal", "mem-import.journal", "file recording every outcome, read to resume (with --mock: a temporary file, unless given)")
	dryRun := fs.Bool("dry-run", false, "print the plan (calls, tokens, ETA) and stop")
	stopAtDay := fs.Bool("stop-at-day-limit", false, "stop (resumably) when the day windows would set the pace, instead of waiting for them")
	retryUnknown := fs.Bool("retry-unknown", false, "send again the mem-it documents whose outcome an earlier run could not learn (may capture twice)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	switch {
	case fs.NArg() == 0:
		return report(env.stderr, usagef("import: name at least one file, folder or - (stdin)"))
	case *via != viaNotes && *via != viaMemIt:
		return report(env.stderr, usagef("import: --via must be notes or mem-it, not %q", *via))
	case *concurrency < 1:
		return report(env.stderr, usagef("import: --concurrency must be at least 1"))
	case *via == viaNotes && (*instructions != "" || *memContext != ""):
		return report(env.stderr, usagef("import: --instructions and --context go with --via mem-it"))
	}
	if *via == viaMemIt && len(collections) > 0 { // mem-it has no collection field: ask for it
		*instructions = strings.TrimSpace(*instructions + "\nAdd this to the collection(s): " + strings.Join(collections, ", "))
		collections = nil
	}

	if cf.mock && !flagSet(fs, "journal") {
		// The embedded mock starts empty every run: a journal kept from an
		// earlier run would skip documents this mock never saw.
		dir, err := os.MkdirTemp("", "mem-import-mock")
		if err != nil {
			return report(env.stderr, err)
		}
		defer os.RemoveAll(dir)
		*journalPath = filepath.Join(dir, "journal")
	}

	items, skipped, err := readSources(fs.Args(), env.stdin, *via)
	if err != nil {
		return report(env.stderr, usagef("import: %v", err))
	}
	for _, p := range skipped {
		fmt.Fprintf(env.stderr, "skipping %s: not a document type mem imports\n", p)
	}
	for _, it := range items {
		if it.Part == 1 {
			fmt.Fprintf(env.stderr, "splitting %s into %d notes: it is over the %d bytes a note holds\n", strings.TrimSuffix(it.Where, fmt.Sprintf(" (part 1 of %d)", it.Parts)), it.Parts, maxNoteBytes)
		}
	}
	jr, err := openJournal(*journalPath)
	if err != nil {
		return report(env.stderr, err)
	}
	defer jr.Close()

	c, th, err := cf.connect(env)
	if err != nil {
		return report(env.stderr, err)
	}
	im := &importer{
		api: clientAPI{c}, th: th, journal: jr, via: *via, concurrency: *concurrency,
		collections: collections, instructions: *instructions, context: *memContext,
		retryUnknown: *retryUnknown, limit: -1,
	}

	// Plan: what is left after the journal, and what it costs.
	var settled summary
	todo := im.pending(items, &settled)
	setup := 0
	if len(collections) > 0 && len(todo) > 0 {
		setup = 1 + len(collections) // one list page (at least), and the creations at most
	}
	pl := makePlan(th, *via, len(todo), setup)
	if cf.json && *dryRun {
		return printJSON(env, pl)
	}
	fmt.Fprintf(env.stderr, "%d documents: %d already done, %d to import.\n", len(items), settled.AlreadyDone, len(todo))
	pl.print(env.stderr)
	if *dryRun {
		return exitOK
	}
	if *stopAtDay && pl.DayBound >= 0 {
		im.limit = pl.DayBound
		fmt.Fprintf(env.stderr, "--stop-at-day-limit: this run stops after %d calls.\n", pl.DayBound)
	}

	attempts := len(todo)
	if im.limit >= 0 {
		attempts = min(attempts, im.limit)
	}
	prog := newProgress(env.stderr, th, attempts, callCost(th.Policy(), *via))
	im.progress = prog.update
	s, err := im.run(env.ctx, todo, settled)
	prog.finish()
	if err != nil {
		fmt.Fprintf(env.stderr, "mem: %v\n", err)
	}
	if cf.json {
		printJSON(env, s)
	} else {
		printSummary(env, s, *journalPath)
	}
	if env.ctx.Err() != nil {
		fmt.Fprintf(env.stderr, "Interrupted. Run the same command again to resume: %d documents are left.\n", s.NotAttempted)
	}
	if err != nil || !s.complete() {
		return exitFailed
	}
	return exitOK
}

// flagSet reports whether the command line set the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func printSummary(env *cliEnv, s summary, journalPath string) {
	w := env.stdout
	fmt.Fprintf(w, "imported: %d\n", s.Imported)
	fmt.Fprintf(w, "already done (journal): %d\n", s.AlreadyDone)
	if s.AlreadyThere > 0 {
		fmt.Fprintf(w, "already in Mem (earlier run): %d\n", s.AlreadyThere)
	}
	fmt.Fprintf(w, "failed: %d\n", len(s.Failed))
	for _, f := range s.Failed {
		fmt.Fprintf(w, "  %s: %s\n", f.Where, f.Reason)
	}
	if len(s.Unknown) > 0 {
		fmt.Fprintf(w, "outcome unknown (mem-it): %d\n", len(s.Unknown))
		for _, f := range s.Unknown {
			fmt.Fprintf(w, "  %s: %s\n", f.Where, f.Reason)
		}
	}
	if s.NotAttempted > 0 {
		fmt.Fprintf(w, "not attempted (run again to resume): %d\n", s.NotAttempted)
	}
	fmt.Fprintf(w, "429s seen: %d\n", s.RateLimited)
	fmt.Fprintf(w, "time waiting on limits: %s (calls overlap, so this can exceed the run)\n", s.WaitedOnLimit.Round(time.Millisecond))
	fmt.Fprintf(w, "took: %s; journal: %s\n", s.Elapsed.Round(time.Millisecond), journalPath)
}

func printJSON(env *cliEnv, v any) int {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return report(env.stderr, err)
	}
	return exitOK
}
