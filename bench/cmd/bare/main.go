// Command bare is the baseline of the load run (bench/load.sh): a bare
// net/http server that answers every request with the same bytes, the body
// (and headers) of one response recorded from the mock, so that wrk measures
// what the mock costs on top of net/http.
//
//	go run ./bench/cmd/bare -addr 127.0.0.1:18081 -body body.json -headers headers.txt
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	bodyFile := flag.String("body", "", "file holding the response body to serve (required)")
	headerFile := flag.String("headers", "", "optional file of response headers as curl -D writes them (status line first)")
	flag.Parse()
	if err := run(*addr, *bodyFile, *headerFile); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(2)
	}
}

func run(addr, bodyFile, headerFile string) error {
	if bodyFile == "" {
		return fmt.Errorf("-body is required")
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if headerFile != "" {
		if h, err = readHeaders(headerFile); err != nil {
			return err
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		dst := w.Header()
		for k, v := range h {
			dst[k] = v
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	fmt.Printf("bare: serving %d bytes on http://%s\n", len(body), addr)
	return http.ListenAndServe(addr, handler)
}

// readHeaders parses a curl -D dump, skipping the status line and the
// headers net/http sets itself.
func readHeaders(name string) (http.Header, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "HTTP/") {
			continue
		}
		switch http.CanonicalHeaderKey(k) {
		case "Date", "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, sc.Err()
}
