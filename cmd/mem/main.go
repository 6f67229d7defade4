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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
)

// Exit codes.
const (
	exitOK          = 0   // everything made it
	exitFailed      = 1   // something failed (an import: some items did not make it)
	exitUsage       = 2   // the command line was wrong, or its input refused before sending
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
	// jsonErrors prints errors as JSON objects (--json).
	jsonErrors bool
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
	env.jsonErrors = jsonRequested(root, args)
	return report(env, err, path)
}

// jsonRequested reports whether the command line asked for --json: the
// parsed flag, or, when parsing stopped at a bad flag before it, the
// argument itself.
func jsonRequested(root *cobra.Command, args []string) bool {
	if on, err := root.PersistentFlags().GetBool("json"); err == nil && on {
		return true
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// refusedError refuses, before anything is sent, a command whose line is
// right but that cannot run now (another import holds its journal): exit
// 2 as for a usage error, without pointing at the help; typ names the
// refusal in --json.
type refusedError struct{ typ, msg string }

func (e refusedError) Error() string { return e.msg }

// errReported ends a command whose outcome is already on the screen (an
// import's summary lists what failed): exit 1, nothing more to print.
var errReported = errors.New("reported")

// errInterrupted ends a command stopped by Ctrl-C after it said how to go on.
var errInterrupted = errors.New("interrupted")

// report prints err in the CLI's words (one JSON object with --json) and
// maps it to an exit code. A usage error points at the help of the command
// that refused it (cmdPath).
func report(env *cliEnv, err error, cmdPath string) int {
	var ue usageError
	var re refusedError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case env.ctx.Err() != nil && errors.Is(err, context.Canceled):
		env.complain(errorJSON{Type: "interrupted", Message: "interrupted"}, "mem: interrupted", "")
		return exitInterrupted
	case errors.Is(err, errReported):
		return exitFailed
	case errors.As(err, &ue):
		help := cmdPath + " --help"
		env.complain(errorJSON{Type: "usage", Message: err.Error(), Help: help}, "mem:", fmt.Sprintf("%v\nRun '%s' for usage.", err, help))
		return exitUsage
	case errors.As(err, &re):
		env.complain(errorJSON{Type: re.typ, Message: re.msg}, "mem:", re.msg)
		return exitUsage
	default:
		e := errorOf(err)
		env.complain(e, "mem:", e.Message)
		return exitFailed
	}
}

// errorJSON is an error as --json prints it, one object on standard error.
// It never holds the API key.
type errorJSON struct {
	// Type is what went wrong, to branch on: "usage", "journal_in_use",
	// "interrupted", "stopped", "no_api_key", "unreachable", the server's
	// error type
	// ("not_found", "unauthorized", …), "http_error" for an error response
	// without one, or "error".
	Type    string `json:"type"`
	Message string `json:"message"`
	// Status is the HTTP status of the error response (null: none).
	Status *int `json:"status"`
	// RequestID is the server's id of the failed request (null: none).
	RequestID *string `json:"request_id"`
	// Help is the command whose help describes the usage (usage errors).
	Help string `json:"help,omitempty"`
}

// errorOf classifies err for errorJSON; its message is describe's.
func errorOf(err error) errorJSON {
	e := errorJSON{Type: "error", Message: describe(err)}
	var api *memclient.APIError
	switch {
	case errors.Is(err, memclient.ErrNoAPIKey):
		e.Type = "no_api_key"
	case errors.As(err, &api):
		e.Type = cmp.Or(api.Type, "http_error")
		e.Status = &api.StatusCode
		if api.RequestID != "" {
			e.RequestID = &api.RequestID
		}
	case isConnError(err):
		e.Type = "unreachable"
	}
	return e
}

// complain prints an error on standard error: e as one JSON object with
// --json, else head (in red on a terminal) and text.
func (env *cliEnv) complain(e errorJSON, head, text string) {
	if env.jsonErrors {
		b, err := json.Marshal(e)
		if err == nil {
			fmt.Fprintf(env.stderr, "%s\n", b)
			return
		}
	}
	line := newStyle(env.stderr, env).red(head)
	if text != "" {
		line += " " + safeLines(text) // it may quote the server, or a file's name
	}
	fmt.Fprintln(env.stderr, line)
}
