// Command mem is the Mem API from the command line: batch imports at the
// highest rate the limits allow, and a few everyday calls.
//
//	mem import [flags] PATH... | -     import files, folders or JSONL
//	mem limits                         show the rate-limit buckets
//	mem mem-it [flags] FILE | -        send one document through mem-it
//	mem notes list|get ID|search QUERY
//	mem collections list
//
// The API key comes from MEM_API_KEY, the server from --base-url or
// MEM_API_URL. With --mock every command runs against an embedded mock with
// Mem's limits, and needs no key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/memsdk/mem-go/mock"
)

// Exit codes.
const (
	exitOK     = 0 // everything made it
	exitFailed = 1 // something failed (an import: some items did not make it)
	exitUsage  = 2 // the command line was wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const topUsage = `mem: the Mem API from the command line

Usage:
  mem import [flags] PATH... | -        import documents (files, folders, JSONL, stdin)
  mem limits [flags]                    show the rate-limit buckets (one cheap call)
  mem mem-it [flags] FILE | -           send one document through mem-it
  mem notes list [flags]                list notes
  mem notes get [flags] ID              show one note
  mem notes search [flags] QUERY        search notes
  mem collections list [flags]          list collections

Every command takes --base-url, --mock and --json; "mem COMMAND -h" shows its flags.
The API key is read from MEM_API_KEY (not needed with --mock).
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(&cliEnv{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// runWith runs the command line args in env.
func runWith(env *cliEnv, args []string) int {
	stderr := env.stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, topUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var err error
	switch args[0] {
	case "import":
		return runImport(env, args[1:])
	case "limits":
		err = runLimits(env, args[1:])
	case "mem-it":
		err = runMemIt(env, args[1:])
	case "notes":
		err = runNotes(env, args[1:])
	case "collections":
		err = runCollections(env, args[1:])
	default:
		err = usagef("unknown command %q", args[0])
	}
	return report(stderr, err)
}

// report prints err and maps it to an exit code.
func report(stderr io.Writer, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mem: %v\nRun 'mem -h' for usage.\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "mem: %v\n", err)
		return exitFailed
	}
}

// cliEnv is what every command gets: the process's streams and context.
type cliEnv struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// mock, when set, is the server --mock talks to (tests inspect it);
	// otherwise --mock makes a fresh one.
	mock *mock.Server
}
