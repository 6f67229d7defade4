// Command mem is the Mem API from the command line: batch imports and
// exports at the highest rate the limits allow, and every call the API has.
//
//	mem import [flags] PATH... | -       import files, folders or JSONL
//	mem export [flags] DIR               every note as a Markdown file
//	mem limits                           show the rate-limit buckets
//	mem mem-it [flags] FILE | -          send one document through mem-it
//	mem notes list|get|search|create|update|delete|restore
//	mem collections list|create|delete|add|remove
//	mem version | completion bash|zsh|fish|powershell
//
// The API key comes from MEM_API_KEY, the server from --base-url or
// MEM_API_URL. With --mock every command runs against a throwaway
// in-process mock with Mem's limits, and needs no key. Flags go before or
// after the arguments; "mem help COMMAND" describes each command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/memsdk/mem-go/mock"
)

// Exit codes.
const (
	exitOK          = 0   // everything made it
	exitFailed      = 1   // something failed (an import: some items did not make it)
	exitUsage       = 2   // the command line was wrong
	exitInterrupted = 130 // Ctrl-C (128 + SIGINT), as shells report it
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(&cliEnv{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}, args)
}

// cliEnv is what every command gets: the process's streams, context and
// environment.
type cliEnv struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string // os.Getenv; tests pass their own
	// mock, when set, is the server --mock talks to (tests inspect it);
	// otherwise --mock makes a fresh one.
	mock *mock.Server
	// transport, when set, carries every call that does not go to the mock
	// (tests: a mock's RoundTripper under another key, or a dead server).
	transport http.RoundTripper
	// resize, when set, replaces the SIGWINCH subscription of the progress
	// display (tests).
	resize <-chan os.Signal
}

// env returns the variable's value ("" when unset).
func (e *cliEnv) env(name string) string {
	if e.getenv == nil {
		return ""
	}
	return e.getenv(name)
}

// runWith runs the command line args in env and maps the outcome to an
// exit code: usage errors 2, interruptions 130, other errors 1.
func runWith(env *cliEnv, args []string) int {
	root := newRootCmd(env)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(env.ctx)
	path := "mem"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return report(env, err, path)
}

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errReported ends a command whose outcome is already on the screen (an
// import's summary lists what failed): exit 1, nothing more to print.
var errReported = errors.New("reported")

// errInterrupted ends a command stopped by Ctrl-C after it said how to go on.
var errInterrupted = errors.New("interrupted")

// report prints err in the CLI's words and maps it to an exit code. A usage
// error points at the help of the command that refused it (cmdPath).
func report(env *cliEnv, err error, cmdPath string) int {
	var ue usageError
	st := newStyle(env.stderr, env)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case env.ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(env.stderr, st.red("mem: interrupted"))
		return exitInterrupted
	case errors.Is(err, errReported):
		return exitFailed
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "%s %v\nRun '%s --help' for usage.\n", st.red("mem:"), err, cmdPath)
		return exitUsage
	default:
		fmt.Fprintf(env.stderr, "%s %s\n", st.red("mem:"), describe(err))
		return exitFailed
	}
}
