package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/throttle"
)

func newLimitsCmd(env *cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "limits",
		Short: "Show the rate-limit buckets, learnt from one cheap call",
		Long:  "Shows the rate-limit buckets, learnt from one cheap call\n(a one-note list: 1 request and 1 complexity token).",
		Args:  exactly(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			_, resp, err := cn.c.Notes.List(env.ctx, &memclient.ListNotesOptions{Limit: 1})
			if err != nil {
				return err
			}
			snap := cn.th.Snapshot()
			if g.json {
				return printJSON(env, limitsJSON(resp.Rate, snap))
			}
			printLimits(env.stdout, resp.Rate, snap)
			return nil
		},
	}
}

// windowJSON is one window as the server reported it.
type windowJSON struct {
	Window       string  `json:"window"` // "minute" or "day"
	Limit        int64   `json:"limit"`
	Remaining    int64   `json:"remaining"`
	ResetSeconds seconds `json:"reset_seconds"`
}

// bucketJSON is one bucket of the local mirror.
type bucketJSON struct {
	Kind          string  `json:"kind"`   // "requests" or "complexity"
	Window        string  `json:"window"` // "minute" or "day"
	Level         float64 `json:"level"`
	Limit         int64   `json:"limit"`
	FullInSeconds seconds `json:"full_in_seconds"`
	// Source is "server" when the response's headers showed this window,
	// "estimate" when they did not (they show one window per kind) and the
	// level is the client's own reckoning.
	Source string `json:"source"`
}

// Where a bucket's level comes from.
const (
	sourceServer   = "server"
	sourceEstimate = "estimate"
)

// levelSource says whether the headers of rate showed bucket b's window.
func levelSource(rate headers.Status, b throttle.Bucket) string {
	if ws := rate.Of(b.Kind); ws.Present() && ws.Window == b.Window {
		return sourceServer
	}
	return sourceEstimate
}

// limitsOutput is the JSON of mem limits.
type limitsOutput struct {
	// Reported is what the server said, per kind: its most constrained
	// window (absent kinds are null).
	Reported map[string]*windowJSON `json:"reported"`
	Buckets  []bucketJSON           `json:"buckets"`
	// PausedUntil is when a 429's pause ends (null: no pause).
	PausedUntil jsonTime `json:"paused_until"`
}

func limitsJSON(rate headers.Status, snap throttle.Snapshot) limitsOutput {
	out := limitsOutput{Reported: map[string]*windowJSON{}, Buckets: []bucketJSON{}}
	for _, k := range []headers.Kind{headers.Requests, headers.Complexity} {
		ws := rate.Of(k)
		out.Reported[k.String()] = nil
		if ws.Present() {
			out.Reported[k.String()] = &windowJSON{string(ws.Window), ws.Limit, ws.Remaining, seconds(ws.Reset)}
		}
	}
	for _, b := range snap.Buckets {
		out.Buckets = append(out.Buckets, bucketJSON{b.Kind.String(), string(b.Window), b.Level, b.Limit, seconds(b.UntilFull), levelSource(rate, b.Bucket)})
	}
	if snap.PausedUntil.After(snap.At) {
		out.PausedUntil = jsonTime(snap.PausedUntil)
	}
	return out
}

func printLimits(w io.Writer, rate headers.Status, snap throttle.Snapshot) {
	fmt.Fprintln(w, "The server reported (the most constrained window of each kind):")
	for _, k := range []headers.Kind{headers.Requests, headers.Complexity} {
		ws := rate.Of(k)
		if !ws.Present() {
			fmt.Fprintf(w, "  %-10s  not reported\n", k)
			continue
		}
		fmt.Fprintf(w, "  %-10s  %s window: %d of %d left, full again in %s\n", k, ws.Window, ws.Remaining, ws.Limit, fmtDuration(ws.Reset))
	}
	fmt.Fprintln(w, "The local mirror, after that call:")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tWINDOW\tLEVEL\tLIMIT\tFULL IN\tSOURCE")
	estimates := false
	for _, b := range snap.Buckets {
		src := levelSource(rate, b.Bucket)
		level, full := fmt.Sprintf("%.1f", b.Level), fmtDuration(b.UntilFull.Round(time.Second))
		if src == sourceEstimate { // an upper bound: others may have spent in this window unseen
			estimates, level, full = true, "≤"+level, "≥"+full
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", b.Kind, b.Window, level, b.Limit, full, src)
	}
	tw.Flush()
	if estimates {
		fmt.Fprintln(w, "An estimate is this client's own reckoning (full, less its calls), so an upper bound (≤): the headers")
		fmt.Fprintln(w, "show one window of each kind, and what other users of the key spent in the others is not known.")
	}
}

func newMemItCmd(env *cliEnv, g *globals) *cobra.Command {
	var req memclient.MemItRequest
	cmd := &cobra.Command{
		Use:   "mem-it [flags] FILE | -",
		Short: "Send one document through mem-it (Mem organises it)",
		Long:  "Sends one document through mem-it, which Mem processes in the background\n(40 complexity tokens: 5 at once, then one every 12 s).",
		Args:  exactly(1, "one file, or - for standard input"),
		RunE: func(_ *cobra.Command, args []string) error {
			data, err := readInput(env, args[0])
			if err != nil {
				return err
			}
			req.Input = string(data)
			if err := inputProblem(inputName(args[0]), req.Validate()); err != nil {
				return err
			}
			cn, err := g.connect(env, throttle.Hooks{})
			if err != nil {
				return err
			}
			res, resp, err := cn.c.MemIt(env.ctx, &req)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(env, res)
			}
			fmt.Fprintf(env.stdout, "sent: request %s (Mem processes it in the background)\n", safeText(resp.RequestID))
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Instructions, "instructions", "", "how Mem should process the document")
	cmd.Flags().StringVar(&req.Context, "context", "", "background for the processing")
	cmd.Flags().BoolVar(&req.AtLeastOnce, "at-least-once", false, "retry even when the first attempt may have arrived (may capture twice)")
	return cmd
}

// readInput reads a file, or standard input for "-", as text: a binary
// file, or one that is not UTF-8, is refused as mem import skips it (a
// usage error: nothing is sent).
func readInput(env *cliEnv, name string) ([]byte, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(env.stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, usagef("%s: %v", inputName(name), unwrapPath(err))
	}
	if p := textProblem(data); p != "" {
		return nil, usagef("%s is %s: nothing was sent (mem sends text only)", inputName(name), p)
	}
	return data, nil
}

// inputName names a FILE argument in messages: "-" is standard input.
func inputName(arg string) string {
	if arg == "-" {
		return "standard input"
	}
	return arg
}

// inputProblem is a usage error for a request the client would refuse
// before sending (nil when err is none of those). A problem of the
// document (field content or input) names where it came from (source):
// "empty.md is empty: nothing to send"; a problem of another field names
// the flag that set it (see flagProblem).
func inputProblem(source string, err error) error {
	var ve *memclient.ValidationError
	if !errors.As(err, &ve) || ve.API != nil {
		return nil
	}
	if ve.Field != "content" && ve.Field != "input" {
		return flagProblem("", err)
	}
	if ve.Problem == "is required" {
		return usagef("%s is empty: nothing to send", source)
	}
	return usagef("%s: the %s %s (the client refuses it; nothing was sent)", source, ve.Field, ve.Problem)
}

// unwrapPath drops the operation and path of an *fs.PathError.
func unwrapPath(err error) error {
	if pe, ok := err.(interface{ Unwrap() error }); ok && pe.Unwrap() != nil {
		return pe.Unwrap()
	}
	return err
}
