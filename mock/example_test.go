package mock_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/memsdk/mem-go/mock"
)

// A user's own test: run the mock in memory, call it as the real API, and
// inspect what it saw. (Inside synctest.Test, the same code runs on virtual
// time.)
func ExampleServer_Client() {
	s := mock.MustNew(mock.Config{}) // accepts mock.DefaultKey, Mem's limits
	client := s.Client()             // in memory: no sockets

	for i := range 6 {
		req, _ := http.NewRequest("POST", "https://api.mem.ai/v2/mem-it",
			strings.NewReader(fmt.Sprintf(`{"input":"thought %d"}`, i)))
		req.Header.Set("Authorization", "Bearer "+mock.DefaultKey)
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("%d remaining=%s retry-after=%q\n", resp.StatusCode,
			resp.Header.Get("X-Complexity-Remaining"), resp.Header.Get("Retry-After"))
	}
	fmt.Println("notes:", len(s.Notes(mock.DefaultKey)), "429s:", s.Count429())
	// Output:
	// 200 remaining=160 retry-after=""
	// 200 remaining=120 retry-after=""
	// 200 remaining=80 retry-after=""
	// 200 remaining=40 retry-after=""
	// 200 remaining=0 retry-after=""
	// 429 remaining=0 retry-after="12"
	// notes: 5 429s: 1
}

// A loopback server, like httptest.Server, with a fault injected on demand.
func ExampleNewLoopback() {
	lb, err := mock.NewLoopback(mock.Config{Keys: []string{"my-key"}})
	if err != nil {
		panic(err)
	}
	defer lb.Close()
	lb.FailNext("GET", "/v2/notes", 1, mock.FaultServerError)

	for range 2 {
		req, _ := http.NewRequest("GET", lb.URL+"/v2/notes", nil)
		req.Header.Set("Authorization", "Bearer my-key")
		resp, err := lb.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	for _, e := range lb.Journal() {
		fmt.Println(e.Method, e.Path, e.Status, e.Key == "my-key", e.Fault != "")
	}
	// Output:
	// 503
	// 200
	// GET /v2/notes 503 true true
	// GET /v2/notes 200 true false
}

// A simulated network between a client and the mock: per-direction latency
// with jitter, a connection pool whose new connections cost a handshake.
// Here it runs on the real clock with millisecond delays; inside
// synctest.Test the same code runs on virtual time, so delays of seconds
// cost nothing and the journal's times are exact.
func ExampleNetwork() {
	s := mock.MustNew(mock.Config{})
	network, err := mock.NewNetwork(s.RoundTripper(), mock.NetworkConfig{
		Seed:    1,
		Up:      mock.Latency{Base: time.Millisecond, Jitter: 2 * time.Millisecond},
		Down:    mock.Latency{Base: time.Millisecond, Tail: time.Millisecond, Max: 5 * time.Millisecond},
		Connect: mock.Latency{Base: 2 * time.Millisecond},
		MaxIdle: 2,
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: network}
	for range 3 {
		req, _ := http.NewRequest("GET", "http://mem.test/v2/notes", nil)
		req.Header.Set("Authorization", "Bearer "+mock.DefaultKey)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, time.Since(start) >= 2*time.Millisecond)
	}
	j := s.Journal()
	fmt.Printf("%+v, %d calls metered\n", network.Stats(), len(j))
	// Output:
	// 200 true
	// 200 true
	// 200 true
	// {Calls:3 Connects:1}, 3 calls metered
}
