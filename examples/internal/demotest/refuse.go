package demotest

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
)

// childEnv marks the child process of RefusesRealServer.
const childEnv = "DEMOTEST_REFUSE_CHILD"

// RefusesRealServer checks that main, with MEM_API_KEY set and no
// MEM_EXAMPLES_REAL=1, sends nothing, exits with a failure, and says which
// server it would have written to and how to opt in. main runs in a child
// process (the test binary again, running only the calling test), since it
// exits; the server is a loopback one that counts the calls it gets.
func RefusesRealServer(t *testing.T, main func(), args ...string) {
	t.Helper()
	if os.Getenv(childEnv) == "1" {
		os.Args = append([]string{"example"}, args...)
		main()
		os.Exit(0) // main went on: the parent sees exit 0 and fails
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer srv.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", "MEM_API_KEY=sk-real-key", "MEM_API_URL="+srv.URL, "MEM_EXAMPLES_REAL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the example did not exit with a failure (err %v); stderr:\n%s", err, stderr.String())
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the example sent %d calls to the real server", n)
	}
	for _, want := range []string{srv.URL, "MEM_EXAMPLES_REAL=1", "unset MEM_API_KEY"} {
		if !bytes.Contains(stderr.Bytes(), []byte(want)) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
}
