// Package demo gives the examples a client: the real Mem when MEM_API_KEY is
// set, else an in-process mock with Mem's limits on a fast clock (a "minute"
// that lasts a second and a "day" that lasts a minute), so that an example
// finishes in seconds and shows the throttle at work.
package demo

import (
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

// Client returns a client for the real Mem (MEM_API_KEY, MEM_API_URL) or,
// without a key, for a new in-process mock; opts are added in both cases.
// The mock server is returned too (nil for the real Mem) for inspection.
func Client(opts ...memclient.Option) (*memclient.Client, *mock.Server, error) {
	base, srv, err := Options()
	if err != nil {
		return nil, nil, err
	}
	c, err := memclient.New(append(base, opts...)...)
	return c, srv, err
}

// Options returns the options that reach the real Mem or, without a key, a
// new in-process mock (returned too): every client made with them talks to
// the same server.
func Options() ([]memclient.Option, *mock.Server, error) {
	if os.Getenv(memclient.EnvAPIKey) != "" {
		return nil, nil, nil // memclient.New reads the environment
	}
	srv, err := mock.New(mock.Config{Limits: mock.Limits{Minute: minute, Day: day}})
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(os.Stderr, "MEM_API_KEY is not set: using an in-process mock with Mem's limits, where a minute lasts 1 s and a day 1 min.")
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
	if os.Getenv(memclient.EnvAPIKey) != "" {
		return p
	}
	for i := range p.Buckets {
		if p.Buckets[i].Period == time.Minute {
			p.Buckets[i].Period = minute
		} else {
			p.Buckets[i].Period = day
		}
	}
	return p
}
