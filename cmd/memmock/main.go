// Command memmock runs the mock Mem API server (package mock) on a TCP
// address, for tests in any language and for demos.
//
//	go run ./cmd/memmock                         # 127.0.0.1:8080, key "test-key"
//	go run ./cmd/memmock --key a --key b --minute 1s --error-rate 0.05 --seed 7
//
// It prints the base URL, serves the v2 API and the admin API under /_mock/,
// and stops cleanly on SIGINT or SIGTERM. "memmock --help" says how to point
// a client at it and lists the admin routes; "memmock --version" prints the
// build's version and VCS revision.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/memsdk/mem-go/cmd/internal/buildinfo"
	"github.com/memsdk/mem-go/mock"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "memmock:", err)
		os.Exit(2)
	}
}

// helpIntro opens memmock --help: what it is, how to use it, the admin API.
const helpIntro = `memmock: a stateful fake of the Mem API (v2) on a TCP port, for tests in any
language and for demos. It enforces Mem's rate limits with its own meter
(429s with Retry-After), keeps notes and collections per API key, and
injects faults on demand. Nothing is persisted: it starts empty every time.

Point a client at it:
  mem:          MEM_API_URL=http://127.0.0.1:8080 MEM_API_KEY=test-key mem notes list
  Go:           memclient.New(memclient.WithBaseURL("http://127.0.0.1:8080"), memclient.WithAPIKey("test-key"))
  any HTTP:     send "Authorization: Bearer test-key" to http://127.0.0.1:8080/v2/...

Admin API (no key, not metered, never faulted; keys appear redacted):
  GET  /_mock/state        limits, the 429 count, and per key: bucket levels, counts, quota used
  POST /_mock/reset        forget every note, collection and bucket level
  GET  /_mock/limits       the limits and per-endpoint costs now in force
  PUT  /_mock/limits       change them while running: {"requests_per_minute":50,"costs":{"POST /v2/notes/search":{"complexity":5}}}
  GET  /_mock/faults       the random faults now in force
  PUT  /_mock/faults       replace them: {"error_rate":0.05,"latency":"100ms",...}
  POST /_mock/faults/next  fail the next calls: {"method":"POST","path":"/v2/notes","count":1,"fault":"lost"}
  GET  /_mock/notes        every stored note of the key in Authorization, trashed ones too
  POST /_mock/spend        spend tokens on that key: {"requests":10,"complexity":40}
  GET  /_mock/journal      every call served: {"entries":[...],"count_429":n}

Example:
  go run ./cmd/memmock --minute 1s &
  curl -s -H 'Authorization: Bearer test-key' -d '{"content":"Hello"}' http://127.0.0.1:8080/v2/notes
  curl -s http://127.0.0.1:8080/_mock/state

Usage: memmock [flags]

Flags:
`

// errVersion ends a run that printed the version.
var errVersion = fmt.Errorf("%w (version)", flag.ErrHelp)

// wantsHelp reports whether args ask for help (before any other parsing,
// so that the help goes to standard output and a bad flag does not print it).
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// keyList is a repeatable --key flag.
type keyList []string

func (k *keyList) String() string { return fmt.Sprintf("%d keys", len(*k)) } // never the keys
func (k *keyList) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty key")
	}
	*k = append(*k, v)
	return nil
}

// costList is a repeatable --cost flag: "METHOD /path=C" (complexity C) or
// "METHOD /path=R,C" (R request tokens, C complexity tokens).
type costList map[string]mock.Cost

func (c costList) String() string { return fmt.Sprintf("%d costs", len(c)) }
func (c costList) Set(v string) error {
	pattern, price, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New(`want "METHOD /path=C" or "METHOD /path=R,C"`)
	}
	var cost mock.Cost
	rs, cs, both := strings.Cut(price, ",")
	if !both {
		rs, cs = "", price
	}
	var err error
	if cost.Complexity, err = strconv.ParseInt(strings.TrimSpace(cs), 10, 64); err != nil {
		return fmt.Errorf("complexity cost: %w", err)
	}
	if both {
		if cost.Requests, err = strconv.ParseInt(strings.TrimSpace(rs), 10, 64); err != nil {
			return fmt.Errorf("request cost: %w", err)
		}
	}
	c[strings.TrimSpace(pattern)] = cost
	return nil
}

// parse builds the address and server configuration from the arguments.
// --help and --version print to stdout and return an error wrapping
// flag.ErrHelp.
func parse(args []string, stdout, stderr io.Writer) (string, mock.Config, error) {
	fs := flag.NewFlagSet("memmock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Run 'memmock --help' for usage.") }
	d := mock.DefaultLimits()
	var (
		cfg  mock.Config
		keys keyList
		cost = costList{}
		nb   time.Duration
		nbC  int64
	)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	fs.Var(&keys, "key", "accepted API `key` (repeatable; default "+mock.DefaultKey+")")
	fs.Int64Var(&cfg.Limits.RequestsPerMinute, "requests-per-minute", d.RequestsPerMinute, "request tokens per minute window")
	fs.Int64Var(&cfg.Limits.RequestsPerDay, "requests-per-day", d.RequestsPerDay, "request tokens per day window")
	fs.Int64Var(&cfg.Limits.ComplexityPerMinute, "complexity-per-minute", d.ComplexityPerMinute, "complexity tokens per minute window")
	fs.Int64Var(&cfg.Limits.ComplexityPerDay, "complexity-per-day", d.ComplexityPerDay, "complexity tokens per day window")
	fs.DurationVar(&cfg.Limits.Minute, "minute", d.Minute, "length of the \"minute\" window")
	fs.DurationVar(&cfg.Limits.Day, "day", d.Day, "length of the \"day\" window")
	fs.Int64Var(&cfg.Limits.MemItComplexity, "mem-it-complexity", d.MemItComplexity, "complexity cost of POST /v2/mem-it")
	fs.Var(cost, "cost", "an endpoint's `price`: \"METHOD /path=C\" (C complexity tokens) or \"METHOD /path=R,C\" (and R request tokens); {name} wildcards; repeatable")
	fs.Int64Var(&cfg.Quota.Allowance, "quota", 0, "note creations allowed per key per quota period (0: no quota)")
	fs.DurationVar(&cfg.Quota.Period, "quota-period", 30*24*time.Hour, "quota period")
	fs.DurationVar(&cfg.Faults.Latency, "latency", 0, "added latency per call")
	fs.DurationVar(&cfg.Faults.LatencyJitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	fs.DurationVar(&cfg.Faults.ResponseLatency, "response-latency", 0, "added latency per response, after the call is metered")
	fs.DurationVar(&cfg.Faults.ResponseJitter, "response-jitter", 0, "random extra response latency, uniform in [0, response-jitter)")
	fs.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "probability of a 5xx")
	fs.Float64Var(&cfg.Faults.ResetRate, "reset-rate", 0, "probability of a connection reset before processing")
	fs.Float64Var(&cfg.Faults.LostRate, "lost-rate", 0, "probability that a processed call's response is lost")
	fs.Float64Var(&cfg.Faults.MissingHeadersRate, "missing-headers-rate", 0, "probability of no rate-limit headers")
	fs.Float64Var(&cfg.Faults.GarbledHeadersRate, "garbled-headers-rate", 0, "probability of malformed rate-limit headers")
	fs.BoolVar(&cfg.Faults.RetryAfterDate, "retry-after-date", false, "send Retry-After as an HTTP-date")
	fs.DurationVar(&nb, "neighbour-interval", 0, "a noisy neighbour spends on every key once per interval (0: none)")
	fs.Int64Var(&nbC, "neighbour-complexity", 1, "complexity cost of each neighbour call")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the random faults")
	verbose := fs.Bool("v", false, "log every call (keys redacted) to stderr")
	version := fs.Bool("version", false, "print the version and VCS revision, and exit")
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, helpIntro)
		fs.PrintDefaults()
		return "", cfg, flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return "", cfg, err
	}
	if *version {
		fmt.Fprintln(stdout, "memmock", buildinfo.Read().Long())
		return "", cfg, errVersion
	}
	if fs.NArg() > 0 {
		return "", cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.Keys = keys
	if len(cost) > 0 {
		cfg.Limits.Costs = cost
	}
	if *verbose {
		cfg.Observe = func(e mock.Entry) { fmt.Fprintln(stderr, e) }
	}
	if nb > 0 {
		cfg.Faults.Neighbour = &mock.Neighbour{Interval: nb, Requests: 1, Complexity: nbC}
	}
	return *addr, cfg, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	addr, cfg, err := parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	s, err := mock.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	keys := len(cfg.Keys)
	if keys == 0 {
		fmt.Fprintf(stdout, "memmock: no --key given; accepting %q\n", mock.DefaultKey)
		keys = 1
	}
	fmt.Fprintf(stdout, "memmock: listening on http://%s (%d key(s); admin API at /_mock/)\n", ln.Addr(), keys)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "memmock: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
