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
	os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitCode prints err once on stderr (with a hint for a usage error) and
// returns the process's exit code: 0 for none (or --help, --version), 2.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "memmock:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'memmock --help' for usage.")
	}
	return 2
}

// usageError is a mistake on the command line.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

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

// durationFlag is a duration flag whose errors say what is wrong ("has no
// unit") where the flag package says "parse error".
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return "0s"
	}
	return f.d.String()
}

func (f durationFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err == nil {
		*f.d = d
		return nil
	}
	if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
		return fmt.Errorf("%q has no unit: write 50ms, 2s or 1m", v)
	}
	return fmt.Errorf("%q is not a duration: write 50ms, 2s or 1m", v)
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
	fs.SetOutput(io.Discard) // the caller prints the error, once
	fs.Usage = func() {}
	d := mock.DefaultLimits()
	f := defineFlags(fs, d)
	cfg := &f.cfg
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, helpIntro)
		fs.PrintDefaults()
		return "", *cfg, flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return "", *cfg, usageError{err}
	}
	if *f.version {
		fmt.Fprintln(stdout, "memmock", buildinfo.Read().Long())
		return "", *cfg, errVersion
	}
	if fs.NArg() > 0 {
		return "", *cfg, usageError{fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	if err := checkFlags(*cfg, f.neighbour, d); err != nil {
		return "", *cfg, usageError{err}
	}
	cfg.Keys = f.keys
	if len(f.cost) > 0 {
		cfg.Limits.Costs = f.cost
	}
	if *f.verbose {
		cfg.Observe = func(e mock.Entry) { fmt.Fprintln(stderr, e) }
	}
	if f.neighbour > 0 {
		cfg.Faults.Neighbour = &mock.Neighbour{Interval: f.neighbour, Requests: 1, Complexity: f.neighbourComplexity}
	}
	return *f.addr, *cfg, nil
}

// defaultQuotaPeriod is the mock's quota period when none is configured.
const defaultQuotaPeriod = 30 * 24 * time.Hour

// flags are memmock's flags, as parsed: most go straight into cfg.
type flags struct {
	cfg                 mock.Config
	addr                *string
	keys                keyList
	cost                costList
	neighbour           time.Duration
	neighbourComplexity int64
	verbose, version    *bool
}

// defineFlags defines memmock's flags on fs, with defaults from d.
func defineFlags(fs *flag.FlagSet, d mock.Limits) *flags {
	f := &flags{cost: costList{}}
	cfg := &f.cfg
	f.addr = fs.String("addr", "127.0.0.1:8080", "listen address")
	fs.Var(&f.keys, "key", "accepted API `key` (repeatable; default "+mock.DefaultKey+")")
	fs.Int64Var(&cfg.Limits.RequestsPerMinute, "requests-per-minute", d.RequestsPerMinute, "request tokens per minute window")
	fs.Int64Var(&cfg.Limits.RequestsPerDay, "requests-per-day", d.RequestsPerDay, "request tokens per day window")
	fs.Int64Var(&cfg.Limits.ComplexityPerMinute, "complexity-per-minute", d.ComplexityPerMinute, "complexity tokens per minute window")
	fs.Int64Var(&cfg.Limits.ComplexityPerDay, "complexity-per-day", d.ComplexityPerDay, "complexity tokens per day window")
	cfg.Limits.Minute, cfg.Limits.Day = d.Minute, d.Day
	fs.Var(durationFlag{&cfg.Limits.Minute}, "minute", "length of the \"minute\" window (a `duration`: 1s, 1m)")
	fs.Var(durationFlag{&cfg.Limits.Day}, "day", "length of the \"day\" window (a `duration`)")
	fs.Int64Var(&cfg.Limits.MemItComplexity, "mem-it-complexity", d.MemItComplexity, "complexity cost of POST /v2/mem-it")
	fs.Var(f.cost, "cost", "an endpoint's `price`: \"METHOD /path=C\" (C complexity tokens) or \"METHOD /path=R,C\" (and R request tokens); {name} wildcards; repeatable")
	fs.Int64Var(&cfg.Quota.Allowance, "quota", 0, "note creations allowed per key per quota period (0: no quota)")
	cfg.Quota.Period = defaultQuotaPeriod
	fs.Var(durationFlag{&cfg.Quota.Period}, "quota-period", "quota period (a `duration`)")
	fs.Var(durationFlag{&cfg.Faults.Latency}, "latency", "added latency per call (a `duration`: 50ms)")
	fs.Var(durationFlag{&cfg.Faults.LatencyJitter}, "jitter", "random extra latency, uniform in [0, jitter) (a `duration`)")
	fs.Var(durationFlag{&cfg.Faults.ResponseLatency}, "response-latency", "added latency per response, after the call is metered (a `duration`)")
	fs.Var(durationFlag{&cfg.Faults.ResponseJitter}, "response-jitter", "random extra response latency, uniform in [0, response-jitter) (a `duration`)")
	fs.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "probability of a 5xx")
	fs.Float64Var(&cfg.Faults.ResetRate, "reset-rate", 0, "probability of a connection reset before processing")
	fs.Float64Var(&cfg.Faults.LostRate, "lost-rate", 0, "probability that a processed call's response is lost")
	fs.Float64Var(&cfg.Faults.MissingHeadersRate, "missing-headers-rate", 0, "probability of no rate-limit headers")
	fs.Float64Var(&cfg.Faults.GarbledHeadersRate, "garbled-headers-rate", 0, "probability of malformed rate-limit headers")
	fs.BoolVar(&cfg.Faults.RetryAfterDate, "retry-after-date", false, "send Retry-After as an HTTP-date")
	fs.Var(durationFlag{&f.neighbour}, "neighbour-interval", "a noisy neighbour spends on every key once per `interval` (0: none)")
	fs.Int64Var(&f.neighbourComplexity, "neighbour-complexity", 1, "complexity cost of each neighbour call")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the random faults")
	f.verbose = fs.Bool("v", false, "log every call (keys redacted) to stderr")
	f.version = fs.Bool("version", false, "print the version and VCS revision, and exit")
	return f
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
	keyWord := "keys"
	if keys == 1 {
		keyWord = "key"
	}
	fmt.Fprintf(stdout, "memmock: listening on http://%s (%d %s; admin API at /_mock/)\n", ln.Addr(), keys, keyWord)

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

// checkFlags refuses values the mock would refuse, or silently replace
// with its defaults (a zero limit or window), naming the flags.
func checkFlags(cfg mock.Config, neighbour time.Duration, d mock.Limits) error {
	var errs []error
	for _, p := range []struct {
		flag string
		v    float64
	}{
		{"error-rate", cfg.Faults.ErrorRate}, {"reset-rate", cfg.Faults.ResetRate}, {"lost-rate", cfg.Faults.LostRate},
		{"missing-headers-rate", cfg.Faults.MissingHeadersRate}, {"garbled-headers-rate", cfg.Faults.GarbledHeadersRate},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			errs = append(errs, fmt.Errorf("--%s %v is not a probability (want 0 to 1)", p.flag, p.v))
		}
	}
	for _, p := range []struct {
		flag     string
		v, deflt time.Duration
	}{{"minute", cfg.Limits.Minute, d.Minute}, {"day", cfg.Limits.Day, d.Day}, {"quota-period", cfg.Quota.Period, defaultQuotaPeriod}} {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive (0 would mean the default, %v)", p.flag, p.deflt))
		}
	}
	for _, p := range []struct {
		flag string
		v    time.Duration
	}{
		{"latency", cfg.Faults.Latency}, {"jitter", cfg.Faults.LatencyJitter}, {"response-latency", cfg.Faults.ResponseLatency},
		{"response-jitter", cfg.Faults.ResponseJitter}, {"neighbour-interval", neighbour},
	} {
		if p.v < 0 {
			errs = append(errs, fmt.Errorf("--%s must not be negative", p.flag))
		}
	}
	for _, p := range []struct {
		flag     string
		v, deflt int64
	}{
		{"requests-per-minute", cfg.Limits.RequestsPerMinute, d.RequestsPerMinute}, {"requests-per-day", cfg.Limits.RequestsPerDay, d.RequestsPerDay},
		{"complexity-per-minute", cfg.Limits.ComplexityPerMinute, d.ComplexityPerMinute}, {"complexity-per-day", cfg.Limits.ComplexityPerDay, d.ComplexityPerDay},
		{"mem-it-complexity", cfg.Limits.MemItComplexity, d.MemItComplexity},
	} {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive (0 would mean the default, %d)", p.flag, p.deflt))
		}
	}
	if cfg.Quota.Allowance < 0 {
		errs = append(errs, errors.New("--quota must not be negative"))
	}
	return errors.Join(errs...)
}
