package main

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/memsdk/mem-go/cmd/internal/buildinfo"
)

// globals are the flags every command takes (persistent on the root).
type globals struct {
	baseURL string
	mock    bool
	json    bool
	verbose bool
	quiet   bool
}

const rootLong = `mem: the Mem API from the command line.

Imports and exports run at the highest rate Mem's limits allow, resumably;
every other call of the API is a command too. The API key is read from
MEM_API_KEY; with --mock every command runs against a throwaway in-process
mock with Mem's limits (no key needed, nothing reaches Mem).

Flags go before or after the arguments. Output is text for people, or JSON
with --json (snake_case names, times in RFC 3339, durations in seconds).
Colours only on a terminal, never with NO_COLOR set.

Exit status: 0 success, 1 failure, 2 usage error (a wrong command line, or
input refused before anything is sent), 130 interrupted (Ctrl-C).`

// newRootCmd builds the command tree, writing to env's streams.
func newRootCmd(env *cliEnv) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "mem",
		Short:         "The Mem API from the command line",
		Long:          rootLong,
		Version:       buildinfo.Read().Short(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSubcommand,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("mem {{.Version}}\n")
	// Flag descriptions wrap at 80 columns.
	root.SetUsageTemplate(strings.ReplaceAll(root.UsageTemplate(), ".FlagUsages |", ".FlagUsagesWrapped 80 |"))
	root.SetIn(env.stdin)
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{withFlagSuggestion(cmd, err.Error())} })

	pf := root.PersistentFlags()
	pf.StringVar(&g.baseURL, "base-url", "", "API server (default $MEM_API_URL, else api.mem.ai)")
	pf.BoolVar(&g.mock, "mock", false, "use a throwaway in-process mock (no API key needed)")
	pf.BoolVar(&g.json, "json", false, "print JSON on standard output")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log each call, status, wait and retry (never the key)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "only results and errors: no plan, progress or notices")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		env.jsonErrors = g.json
		switch {
		case g.verbose && g.quiet:
			return usagef("--verbose and --quiet do not go together")
		case g.mock && g.baseURL != "":
			return usagef("--mock and --base-url do not go together: --mock runs against an in-process mock")
		}
		return nil
	}

	root.AddCommand(
		newImportCmd(env, g),
		newExportCmd(env, g),
		newLimitsCmd(env, g),
		newMemItCmd(env, g),
		newNotesCmd(env, g),
		newCollectionsCmd(env, g),
		newVersionCmd(env, g),
	)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" { // a group: an unknown shell is a usage error
			c.Args = noSubcommand
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
	usageArgs(root)
	suggestCommands(root)
	return root
}

// suggestCommands has every command suggest the subcommands within two
// edits of an unknown one ("improt": import), as cobra's own check does.
// SuggestionsFor alone suggests only those the name starts.
func suggestCommands(c *cobra.Command) {
	c.SuggestionsMinimumDistance = 2
	for _, sub := range c.Commands() {
		suggestCommands(sub)
	}
}

// withFlagSuggestion adds to pflag's "unknown flag: --colection" the flags
// of cmd within two edits of it, or that it begins: "; did you mean
// --collection?".
func withFlagSuggestion(cmd *cobra.Command, msg string) string {
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok || name == "" {
		return msg
	}
	var near []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && (editDistance(name, f.Name) <= 2 || strings.HasPrefix(f.Name, name)) {
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return msg
	}
	return msg + "; did you mean " + strings.Join(near, " or ") + "?"
}

// editDistance is the Levenshtein distance between a and b, by byte,
// ignoring case.
func editDistance(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// usageArgs makes every command's argument check report a usage error
// (exit 2), cobra's own checks included.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				if _, ok := err.(usageError); ok {
					return err
				}
				return usageError{err.Error()}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// noSubcommand refuses arguments to a command that only groups others: an
// unknown subcommand is a usage error with suggestions, not a help page.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{msg}
}

// group returns a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noSubcommand,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(subs...)
	return c
}

// exactly accepts n arguments; what names them for the error ("one note ID").
func exactly(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s, not %s", cmd.CommandPath(), what, plural(len(args), "argument", "arguments"))
		}
		return nil
	}
}

// noteIDsFrom adds to check that the arguments from index from on are note
// IDs: a malformed one is a usage error, found before any call.
func noteIDsFrom(from int, check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return err
		}
		for _, a := range args[min(from, len(args)):] {
			if uuid.Validate(a) != nil {
				return usagef("%q is not a note ID: want a UUID such as 8ec59e52-491e-526b-8ebc-e67a685862bd", a)
			}
		}
		return nil
	}
}

// atLeast accepts n or more arguments.
func atLeast(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

func newVersionCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version of this build",
		Args:  exactly(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			bi := buildinfo.Read()
			if g.json {
				return printJSON(env, bi)
			}
			fmt.Fprintln(env.stdout, "mem", bi.Long())
			return nil
		},
	}
}
