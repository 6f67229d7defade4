// Package demo gives the examples a client: an in-process mock with Mem's
// limits on a fast clock (a "minute" that lasts a second and a "day" that
// lasts a minute), so that an example finishes in seconds and shows the
// throttle at work; or, when MEM_API_KEY is set and MEM_EXAMPLES_REAL=1 says
// so, the real Mem (or the server MEM_API_URL names). An example writes
// notes, and on a real account they stay: Begin says where and what before
// anything is sent, and refuses a real server without the opt-in.
package demo

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// Fast clock for the mock: Mem's numbers, shorter windows.
const (
	minute = time.Second
	day    = time.Minute
)

// EnvReal is the variable that lets an example talk to the server of
// MEM_API_URL (default Mem's) with the key of MEM_API_KEY: "1" to opt in.
const EnvReal = "MEM_EXAMPLES_REAL"

// Begin prints, to standard error, which server the example named name
// talks to and what it creates there (what: "1 note", "903 notes and 450
// searches"), before it does anything. Without MEM_API_KEY that is a new
// in-process mock. With MEM_API_KEY it is the server of MEM_API_URL (Mem's
// by default), only if MEM_EXAMPLES_REAL=1: otherwise Begin returns an
// error that says how to opt in, and the example must stop.
func Begin(name, what string) error {
	switch {
	case !useReal():
		fmt.Fprintf(os.Stderr, "%s: MEM_API_KEY is not set, so it runs against an in-process mock with Mem's limits (a minute lasts 1 s, a day 1 min), and creates %s there.\n", name, what)
		return nil
	case !optedIn():
		return fmt.Errorf("%s: MEM_API_KEY is set, so it would create %s on %s, for good. "+
			"Set %s=1 to go ahead, or unset MEM_API_KEY to run it against an in-process mock", name, what, server(), EnvReal)
	}
	fmt.Fprintf(os.Stderr, "%s: creates %s on %s with the key in MEM_API_KEY (%s=1), for good.\n", name, what, server(), EnvReal)
	return nil
}

// useReal reports whether the examples are to use the key of MEM_API_KEY.
func useReal() bool { return os.Getenv(memclient.EnvAPIKey) != "" }

// optedIn reports whether MEM_EXAMPLES_REAL=1 lets a real run go ahead.
func optedIn() bool { return os.Getenv(EnvReal) == "1" }

// server is the server a real run talks to.
func server() string {
	if u := os.Getenv(memclient.EnvBaseURL); u != "" {
		return u
	}
	return memclient.DefaultBaseURL
}

// errNoOptIn is returned by Options for a real run without the opt-in.
var errNoOptIn = errors.New("demo: MEM_API_KEY is set but " + EnvReal + " is not 1: refusing to write to a real server (see Begin)")

// Client returns a client for the real Mem (MEM_API_KEY, MEM_API_URL, with
// MEM_EXAMPLES_REAL=1) or, without a key, for a new in-process mock; opts
// are added in both cases.
// The mock server is returned too (nil for the real Mem) for inspection.
func Client(opts ...memclient.Option) (*memclient.Client, *mock.Server, error) {
	base, srv, err := Options()
	if err != nil {
		return nil, nil, err
	}
	c, err := memclient.New(append(base, opts...)...)
	return c, srv, err
}

// Options returns the options that reach the real Mem (with the opt-in
// of Begin; without it, an error) or, without a key, a new in-process mock
// (returned too): every client made with them talks to the same server.
func Options() ([]memclient.Option, *mock.Server, error) {
	if useReal() {
		if !optedIn() {
			return nil, nil, errNoOptIn
		}
		return nil, nil, nil // memclient.New reads the environment
	}
	srv, err := mock.New(mock.Config{Limits: mock.Limits{Minute: minute, Day: day}})
	if err != nil {
		return nil, nil, err
	}
	return []memclient.Option{
		memclient.WithAPIKey(mock.DefaultKey),
		memclient.WithTransport(srv.RoundTripper()),
		memclient.WithBaseURL("http://mem.mock"),
		memclient.WithPolicy(Policy()),
	}, srv, nil
}

// Policy is the throttle policy that matches Client: Mem's limits, on the
// mock's fast clock when no key is set.
func Policy() throttle.Policy {
	p := throttle.DefaultPolicy()
	if useReal() {
		return p
	}
	return p.WithWindows(minute, day)
}
