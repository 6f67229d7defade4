package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

const importLong = `Imports documents into Mem at the highest rate the limits allow, resumably:
every outcome goes to a journal as it happens, and running the same command
again skips what is done. Notes get ids derived from each document (its path
and content), so even without the journal a document is never created twice.
A mem-it has no such id: the journal records it as being sent before it
leaves, so one that may be in flight when mem dies (kill -9, a power cut)
is reported by the next run as of unknown outcome, like one whose answer was
lost, and is sent again only with --retry-unknown. Check Mem for it: once
found there, --accept-unknown records it as imported, never to be sent
again: every document of unknown outcome named on the command line, so name
only those you found (mem import --accept-unknown DIR/a.md), and see them
first with --dry-run. An import locks its journal while it runs: a second
import of the same journal at once is refused (exit 2) before it sends
anything (on Linux, macOS, the BSDs and illumos; elsewhere, Windows
included, there is no lock; on a file system that cannot lock, such as NFS
without its lock service, mem says so when it starts).

Sources: files and folders (recursive: .md .markdown .txt .html .htm .eml;
hidden files and folders are left out), JSONL files (.jsonl: one JSON object
per line with "content" or "input", and optionally "collection_titles",
"instructions", "context", "created_at", "updated_at", "timestamp"), or - for
standard input (JSONL when it starts with '{', else one document). Markdown
files written by "mem export" keep their note's id, times and collections, so
importing an export again creates nothing twice. Front matter written by other
tools (Obsidian, Jekyll: a --- block of YAML keys) is left out of the note,
its title: becoming the note's first line; mem says how many files had it.

The journal (--journal) names the server and API key it was written for (the
key only by a fingerprint: the first 8 bytes of its SHA-256). A run for
another server or key is refused before anything is sent, since what the
journal records as done is not there: --new-journal starts afresh (keeping
the old file beside it), or --journal FILE keeps one journal per server. A
journal from an earlier mem, which named no server, is taken as the first
run's that opens it.

Documents that can never be imported as they are (empty, binary, not UTF-8,
malformed JSON, anything the client refuses before sending, such as a
created_at in the future) are skipped and listed with the reason, by
--dry-run too; they do not make the run fail, and are checked again next run.
The import stops at once, with the journal intact, when the key is refused
(401/403), the server cannot be reached, the quota is used up, or ` + "5" + ` calls
in a row fail with a 5xx.

Exit status: 0 when every importable document made it, 1 when some did not
(they are listed, and retried on the next run) or the import stopped, 2 for a
usage error, 130 when interrupted (run the same command again to resume).`

// importOptions are the import command's flags.
type importOptions struct {
	g            *globals
	via          string
	collections  []string
	instructions string
	context      string
	concurrency  int
	journalPath  string
	journalSet   bool // --journal was given
	newJournal   bool
	dryRun       bool
	stopAtDay    bool
	retryUnknown bool

	acceptUnknown bool
}

func newImportCmd(env *cliEnv, g *globals) *cobra.Command {
	o := &importOptions{g: g}
	cmd := &cobra.Command{
		Use:   "import [flags] PATH... | -",
		Short: "Import documents: files, folders, JSONL or standard input",
		Long:  importLong,
		Example: `  mem import --dry-run notes/     # the plan: calls, tokens, time, skips
  mem import notes/ archive.jsonl --collection Archive
  mem import --via mem-it meetings/   # Mem organises each one (40 tokens each)`,
		Args: atLeast(1, "at least one file, folder, or - for standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.journalSet = cmd.Flags().Changed("journal")
			return runImport(env, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.via, "via", viaNotes, "how documents enter Mem: notes (one note each, as written) or mem-it (Mem organises them; 40 complexity tokens each)")
	f.StringArrayVar(&o.collections, "collection", nil, "add every note to the collection with this `TITLE`, created if missing (repeatable; --via notes only)")
	f.StringVar(&o.instructions, "instructions", "", "mem-it instructions for every document (--via mem-it)")
	f.StringVar(&o.context, "context", "", "mem-it context for every document (--via mem-it)")
	f.IntVar(&o.concurrency, "concurrency", 4, "calls in flight at once (the throttle keeps them inside the limits)")
	f.StringVar(&o.journalPath, "journal", "mem-import.journal", "`FILE` recording every outcome, read to resume (with --mock: none, unless given)")
	f.BoolVar(&o.newJournal, "new-journal", false, "start a fresh journal: the old one is kept beside it as FILE.<time>.old")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan (calls, tokens, ETA, skipped documents) and stop; sends and writes nothing, needs no API key")
	f.BoolVar(&o.stopAtDay, "stop-at-day-limit", false, "stop (resumably) before a call would wait for a day window, judged from the levels the responses show, instead of waiting for it")
	f.BoolVar(&o.retryUnknown, "retry-unknown", false, "send again the mem-it documents whose outcome an earlier run could not learn (may capture twice)")
	f.BoolVar(&o.acceptUnknown, "accept-unknown", false, "record the mem-it documents whose outcome an earlier run could not learn as in Mem, never to be sent again (when you found them there)")
	return cmd
}

// check refuses flag combinations that cannot work, before anything is read.
func (o *importOptions) check() error {
	switch {
	case o.via != viaNotes && o.via != viaMemIt:
		return usagef("--via must be notes or mem-it, not %q", o.via)
	case o.concurrency < 1:
		return usagef("--concurrency must be at least 1")
	case o.retryUnknown && o.acceptUnknown:
		return usagef("--retry-unknown and --accept-unknown do not go together: a document of unknown outcome is either sent again or recorded as in Mem")
	case o.via == viaNotes && (o.instructions != "" || o.context != ""):
		return usagef("--instructions and --context go with --via mem-it")
	case o.via == viaMemIt && len(o.collections) > 0:
		return usagef("--collection goes with --via notes: mem-it files each document itself (say where in --instructions)")
	}
	for _, t := range o.collections {
		if strings.TrimSpace(t) == "" {
			return usagef("--collection needs a title, not an empty string")
		}
		if err := flagProblem("collection", collectionRequest(t).Validate()); err != nil {
			return err
		}
	}
	// The flags go in every mem-it request: the client's check of a
	// request with them, and a valid input, is theirs.
	probe := &memclient.MemItRequest{Input: "-", Instructions: o.instructions, Context: o.context}
	return flagProblem("", probe.Validate())
}

// flagProblem is a usage error for a flag whose value the client would
// refuse in every request (nil when err is nil). The flag is named, or is
// the field the client names.
func flagProblem(flag string, err error) error {
	var ve *memclient.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	if flag == "" {
		flag = ve.Field
	}
	return usagef("--%s: %s %s (the client refuses it)", flag, ve.Field, ve.Problem)
}

// runImport reads the sources, plans, and (unless --dry-run) imports, step
// by step.
func runImport(env *cliEnv, o *importOptions, paths []string) error {
	if err := o.check(); err != nil {
		return err
	}
	items, err := readSources(paths, env.stdin, o.via)
	if err != nil {
		return usagef("%v", err)
	}
	o.announceSplits(env, items)
	blocked := &blockedClock{}
	calls := newImportCalls()
	recheck := func() { calls.recheck() }
	cn, err := o.g.connect(env, throttle.Hooks{
		OnWait:   blocked.onWait,
		OnResync: func(throttle.ResyncEvent) { recheck() },
		OnPause:  func(time.Time) { recheck() },
	})
	if errors.Is(err, memclient.ErrNoAPIKey) && o.dryRun {
		o.g.notice(env, "No API key (MEM_API_KEY): a dry run sends nothing and needs none; it plans from full buckets, and checks the journal's server but not its key.")
		cn, err = o.g.keyless(env)
	}
	if err != nil {
		return err
	}
	jr, closeJournal, err := o.openJournal(env, cn.owner)
	if err != nil {
		return err
	}
	defer closeJournal()
	im := &importer{
		api: clientAPI{cn.c}, th: cn.th, journal: jr, via: o.via, concurrency: o.concurrency,
		collections: o.collections, instructions: o.instructions, context: o.context,
		retryUnknown: o.retryUnknown, acceptUnknown: o.acceptUnknown, limit: -1, server: cn.baseURL, blocked: blocked,
		calls: calls,
	}
	s := newSummary()
	todo := im.pending(items, &s)
	pl := makePlan(cn.th, o.via, items, todo, im.collectionTitles(todo), s)
	if o.acceptUnknown && len(s.accept) == 0 {
		o.g.notice(env, "--accept-unknown: no document named here is of unknown outcome; it records nothing.")
	}
	if o.dryRun {
		return o.printDryRun(env, pl)
	}
	if err := im.accept(&s); err != nil {
		return err
	}
	if !o.g.quiet && !o.g.json {
		pl.print(env.stderr)
	}
	if o.stopAtDay {
		calls.stopAtDayLimit(cn.th, callCost(cn.th.Policy(), o.via))
		if pl.DayBound != nil {
			im.limit = *pl.DayBound
			o.g.notice(env, "--stop-at-day-limit: this run stops after %s at most (from full buckets; sooner if the day windows turn out to be partly used).", plural(im.limit, "call", "calls"))
		}
	}
	s, err = o.execute(env, im, todo, s)
	return o.finish(env, s, err, cn.mock)
}

// announceSplits says which documents become several notes, and how many
// lost a foreign front matter block.
func (o *importOptions) announceSplits(env *cliEnv, items []item) {
	foreign := 0
	for _, it := range items {
		if it.ForeignFrontMatter {
			foreign++
		}
	}
	if foreign > 0 {
		verb := "start"
		if foreign == 1 {
			verb = "starts"
		}
		o.g.notice(env, "%s %s with front matter mem does not read (Obsidian, Jekyll…): it is left out of their notes, and its title, if any, is the note's title.",
			plural(foreign, "Markdown file", "Markdown files"), verb)
	}
	for _, it := range items {
		if it.Part == 1 {
			o.g.notice(env, "splitting %s into %d notes: it is over the %d bytes a note holds",
				safeText(strings.TrimSuffix(it.Where, fmt.Sprintf(" (part 1 of %d)", it.Parts))), it.Parts, maxNoteBytes)
		}
	}
}

// openJournal opens the journal for the run: read-only for a dry run (which
// creates no file), none kept with --mock (each run's mock starts empty, so
// an earlier run's journal would skip documents it never saw). Otherwise
// the journal is locked for the run: one another import is using is
// refused, as a usage error, before anything is sent. A journal that
// settled documents for another server or key is refused (see
// journal.checkOwner); --new-journal moves the old one aside first. A file
// that is not a journal (see loadJournal) is refused, as a usage error,
// before anything is written to it or moved.
func (o *importOptions) openJournal(env *cliEnv, owner journalOwner) (*journal, func(), error) {
	j, closeJournal, err := o.openJournalFile(env, owner)
	var nj *notJournalError
	if errors.As(err, &nj) { // the command line names the wrong file
		return nil, nil, usageError{nj.Error()}
	}
	return j, closeJournal, err
}

// openJournalFile is openJournal, errors as they come.
func (o *importOptions) openJournalFile(env *cliEnv, owner journalOwner) (*journal, func(), error) {
	switch {
	case o.g.mock && !o.journalSet:
		if o.newJournal {
			o.g.notice(env, "--new-journal: with --mock and no --journal the journal lives in memory; there is no old one to move aside.")
		}
		j := memoryJournal()
		return j, func() {}, nil
	case o.dryRun && o.newJournal: // the run would start a new journal, once the old one is one
		if _, err := readJournal(o.journalPath); err != nil {
			return nil, nil, err
		}
		return memoryJournal(), func() {}, nil
	case o.dryRun:
		j, err := readJournal(o.journalPath)
		if err != nil {
			return nil, nil, err
		}
		return j, func() {}, o.checkOwner(env, j, owner)
	}
	j, err := o.takeJournal(env)
	if err != nil {
		var busy *journalBusyError
		if errors.As(err, &busy) {
			return nil, nil, refusedError{"journal_in_use", err.Error()}
		}
		return nil, nil, err
	}
	if err := o.checkOwner(env, j, owner); err != nil {
		j.Close()
		return nil, nil, err
	}
	if err := j.claim(owner); err != nil {
		j.Close()
		return nil, nil, err
	}
	return j, func() { j.Close() }, nil
}

// checkOwner refuses a journal of another server or key (a usage error:
// the command line names the wrong journal), and says when a journal that
// named none is taken as this run's.
func (o *importOptions) checkOwner(env *cliEnv, j *journal, owner journalOwner) error {
	recorded, err := j.checkOwner(owner)
	if err != nil {
		return usageError{err.Error()}
	}
	if n := j.settled(); !recorded && n > 0 {
		o.g.notice(env, "The journal %s does not say which server it was written for (an earlier mem wrote it): "+
			"taking its %s as done on %s.", o.journalPath, plural(n, "document", "documents"), owner.Server)
	}
	return nil
}

// takeJournal opens the journal, locked for this run (see lockJournal).
// With --new-journal a journal that holds anything is replaced by a new
// one, and its path never names a file another import could take
// meanwhile: the old one, locked since it was opened, stays there until a
// new one, locked too, is renamed over it (see replaceJournal).
func (o *importOptions) takeJournal(env *cliEnv) (*journal, error) {
	f, unlocked, err := lockJournal(o.journalPath)
	if err != nil {
		return nil, err
	}
	if unlocked {
		o.g.notice(env, "The file system of %s cannot lock it: do not run two imports of it at once.", o.journalPath)
	}
	if !o.newJournal {
		return attachJournal(o.journalPath, f)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &journalFileError{o.journalPath, "read", err}
	}
	if info.Size() == 0 { // nothing to keep
		return attachJournal(o.journalPath, f)
	}
	defer f.Close() // the old one's lock, held until the new one is in its place
	if _, err := loadJournal(o.journalPath, io.NewSectionReader(f, 0, info.Size())); err != nil {
		return nil, err // not a journal: left where it is
	}
	nf, err := o.replaceJournal(env)
	if err != nil {
		return nil, err
	}
	return attachJournal(o.journalPath, nf)
}

// replaceJournal puts a new, empty journal, locked, at the journal's path,
// and moves the old one (which the caller holds locked) to
// FILE.<time>.old. It returns the new one.
func (o *importOptions) replaceJournal(env *cliEnv) (*os.File, error) {
	tmp, f, err := createLocked(o.journalPath)
	if err != nil {
		return nil, &journalFileError{o.journalPath, "make a new file beside", err}
	}
	old, err := keepAside(o.journalPath, tmp, time.Now())
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, &journalFileError{o.journalPath, "move aside", err}
	}
	o.g.notice(env, "--new-journal: the old journal is now %s.", old)
	return f, nil
}

// createLocked creates a new empty file beside path, named
// path.<random>.new (os.CreateTemp), with a journal's permissions, and
// locks it (see lockFile; on a file system that cannot lock, it is left
// unlocked, like the journal it replaces). It returns its name and the
// open file.
func createLocked(path string) (string, *os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.new")
	if err != nil {
		return "", nil, err
	}
	name := f.Name()
	err = f.Chmod(0o644)
	if err == nil {
		if err = lockFile(f); errors.Is(err, errCannotLock) { // the old one could not be locked either
			err = nil
		}
	}
	if err != nil {
		f.Close()
		os.Remove(name)
		return "", nil, fmt.Errorf("preparing %s: %w", name, err)
	}
	return name, f, nil
}

// hookAside, when set (in tests), runs once keepAside has given the old
// file its new name and before it puts the new one at path.
var hookAside func()

// keepAside moves path to path.<time>.old, or path.<time>.<n>.old when that
// name is taken (two runs in one second), never over an existing file, and
// then renames repl to path. Path names a file all along: the old one gets
// its new name as a hard link, which fails when the name exists, and repl
// replaces it at path in one rename. Where the file system has no hard
// links, the old one is renamed to a name checked free, and path names
// nothing until repl is renamed there.
func keepAside(path, repl string, now time.Time) (string, error) {
	old, linked, err := moveAside(path, now)
	if err != nil {
		return "", err
	}
	if hookAside != nil {
		hookAside()
	}
	if err := os.Rename(repl, path); err != nil {
		if linked {
			os.Remove(old) // the old one is still at path
		} else {
			os.Rename(old, path)
		}
		return "", err
	}
	return old, nil
}

// moveAside gives the file at path the name path.<time>.old (see
// keepAside): as a hard link, which leaves path as it was (linked), or,
// where the file system has none, by a rename.
func moveAside(path string, now time.Time) (old string, linked bool, err error) {
	stem := path + "." + now.UTC().Format("20060102T150405Z")
	for n := 1; ; n++ {
		old := stem + ".old"
		if n > 1 {
			old = fmt.Sprintf("%s.%d.old", stem, n)
		}
		err := os.Link(path, old)
		switch {
		case err == nil:
			return old, true, nil
		case errors.Is(err, fs.ErrExist):
			continue
		}
		if _, statErr := os.Lstat(old); statErr == nil {
			continue
		}
		return old, false, os.Rename(path, old)
	}
}

// execute runs the import with a progress display, and says how to resume
// when interrupted.
func (o *importOptions) execute(env *cliEnv, im *importer, todo []item, s summary) (summary, error) {
	attempts := len(todo)
	if im.limit >= 0 {
		attempts = min(attempts, im.limit)
	}
	if !o.g.quiet && attempts > 0 {
		tty := isTerminal(env.stderr) && !o.g.verbose
		resize := env.resize
		if resize == nil && tty {
			ch, stop := resizeSignals()
			defer stop()
			resize = ch
		}
		prog := newProgress(env.stderr, tty, resize, im.th, attempts, callCost(im.th.Policy(), o.via))
		im.progress = prog.update
		defer prog.finish()
	}
	return im.run(env.ctx, todo, s)
}

// finish prints the summary, says why the run stopped and how to go on,
// and returns what decides the exit code.
func (o *importOptions) finish(env *cliEnv, s summary, err error, mock bool) error {
	if o.g.json {
		if perr := printJSON(env, s); perr != nil {
			return perr
		}
	} else {
		o.printSummary(env, s, mock)
	}
	resume := "Run the same command again to resume: the journal keeps what is done."
	if mock && !o.journalSet {
		resume = "The mock and its notes are gone: nothing to resume."
	}
	switch {
	case err != nil:
		return err
	case env.ctx.Err() != nil:
		left := s.left()
		env.complain(errorJSON{Type: "interrupted", Message: "interrupted: " + left + " " + resume}, "Interrupted:", left+"\n"+resume)
		return errInterrupted
	case s.StoppedAtDayLimit != "" && s.StoppedBecause == "":
		later := "Run the same command again later to go on: the journal keeps what is done."
		env.complain(errorJSON{Type: "stopped_at_day_limit", Message: s.StoppedAtDayLimit + ". " + later},
			"Stopped at the day limit (--stop-at-day-limit):", s.StoppedAtDayLimit+".\n"+later)
		return errReported
	case s.StoppedBecause != "":
		done := "Nothing was imported."
		if n := s.Imported + s.AlreadyThere; n > 0 {
			done = plural(n, "document was", "documents were") + " imported first."
		}
		e := errorJSON{Type: "stopped", Message: "stopped: " + s.StoppedBecause + ". " + done + " " + resume}
		env.complain(e, "mem: stopped:", s.StoppedBecause+".\n"+done+"\n"+resume)
		return errReported
	case !s.complete():
		return errReported
	}
	return nil
}

// left says what an interrupted run leaves to do, each kind counted: "2
// documents left: 1 not attempted, 1 of unknown outcome."
func (s summary) left() string {
	var kinds []string
	add := func(n int, what string) {
		if n > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.NotAttempted, "not attempted")
	add(len(s.Failed), "failed")
	add(len(s.Unknown), "of unknown outcome")
	n := s.NotAttempted + len(s.Failed) + len(s.Unknown)
	if n == 0 {
		return "no document left."
	}
	return plural(n, "document", "documents") + " left: " + strings.Join(kinds, ", ") + "."
}

// maxListed bounds the lines listing skipped or failed documents; --json
// lists them all.
const maxListed = 20

func (o *importOptions) printSummary(env *cliEnv, s summary, mock bool) {
	w := env.stdout
	st := newStyle(w, env)
	line := func(label string, n int) {
		fmt.Fprintf(w, "%s: %d\n", label, n)
	}
	imported := fmt.Sprintf("imported: %d", s.Imported)
	if s.Imported > 0 {
		imported = st.green(imported)
	}
	fmt.Fprintln(w, imported)
	line("already done (journal)", s.AlreadyDone)
	if s.AlreadyThere > 0 {
		line("already in Mem (earlier run)", s.AlreadyThere)
	}
	if len(s.Accepted) > 0 {
		listed(w, st, "recorded as in Mem (--accept-unknown)", s.Accepted, false)
	}
	listed(w, st, "skipped", s.Skipped, false)
	listed(w, st, "failed", s.Failed, true)
	if len(s.Unknown) > 0 {
		listed(w, st, "outcome unknown (mem-it)", s.Unknown, true)
	}
	if s.NotAttempted > 0 {
		line("not attempted", s.NotAttempted)
	}
	fmt.Fprintf(w, "429s seen: %d\n", s.RateLimited)
	fmt.Fprintf(w, "took: %s\n", fmtDuration(durationOf(s.Elapsed)))
	fmt.Fprintf(w, "waiting for rate-limit tokens: %s of wall time (%s summed over calls)\n",
		fmtDuration(durationOf(s.WaitedWall)), fmtDuration(durationOf(s.WaitedSummed)))
	if !mock || o.journalSet {
		fmt.Fprintf(w, "journal: %s\n", o.journalPath)
	}
}

// listed prints "label: n" and the entries (see listEntries).
func listed(w io.Writer, st style, label string, fs []failure, bad bool) {
	head := fmt.Sprintf("%s: %d", label, len(fs))
	if bad && len(fs) > 0 {
		head = st.red(head)
	}
	fmt.Fprintln(w, head)
	listEntries(w, fs)
}

// listEntries prints the first maxListed entries, "where: reason", and how
// many more there are.
func listEntries(w io.Writer, fs []failure) {
	for i, f := range fs {
		if i == maxListed {
			fmt.Fprintf(w, "  … and %d more (--json lists them all)\n", len(fs)-maxListed)
			break
		}
		fmt.Fprintf(w, "  %s: %s\n", safeText(f.Where), safeText(f.Reason))
	}
}

// printDryRun prints the plan, with what is skipped and why and what could
// not be read, and stops. Past maxListed skipped documents, it also counts
// them by reason.
func (o *importOptions) printDryRun(env *cliEnv, pl importPlan) error {
	if o.g.json {
		return printJSON(env, pl)
	}
	pl.print(env.stdout)
	if len(pl.Skipped) > 0 {
		fmt.Fprintf(env.stdout, "%s would be skipped:\n", plural(len(pl.Skipped), "document", "documents"))
		listEntries(env.stdout, pl.Skipped)
		if len(pl.Skipped) > maxListed {
			fmt.Fprintln(env.stdout, "By reason:")
			for _, r := range skipReasons(pl.Skipped) {
				fmt.Fprintf(env.stdout, "  %d %s\n", r.n, safeText(r.reason))
			}
		}
	}
	if len(pl.Failed) > 0 {
		fmt.Fprintf(env.stdout, "%s could not be read:\n", plural(len(pl.Failed), "document", "documents"))
		listEntries(env.stdout, pl.Failed)
	}
	if len(pl.AcceptUnknown) > 0 {
		fmt.Fprintf(env.stdout, "%s of unknown outcome would be recorded as in Mem (--accept-unknown):\n", plural(len(pl.AcceptUnknown), "document", "documents"))
		listEntries(env.stdout, pl.AcceptUnknown)
	}
	fmt.Fprintln(env.stdout, "Dry run: nothing was sent and no file was written.")
	return nil
}

type reasonCount struct {
	reason string
	n      int
}

// skipReasons counts the skipped documents by reason, most frequent first.
func skipReasons(fs []failure) []reasonCount {
	by := map[string]int{}
	for _, f := range fs {
		by[f.Reason]++
	}
	var out []reasonCount
	for r, n := range by {
		out = append(out, reasonCount{r, n})
	}
	slices.SortFunc(out, func(a, b reasonCount) int { return cmp.Or(b.n-a.n, strings.Compare(a.reason, b.reason)) })
	return out
}
