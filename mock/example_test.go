package mock_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

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
