// Package demotest runs an example's main in a test and returns what it
// printed, so that the test can check the example did what it says.
package demotest

import (
	"io"
	"os"
	"testing"
)

// Run runs main against the in-process mock (MEM_API_KEY unset) with the
// given command-line arguments and returns its standard output.
func Run(t *testing.T, main func(), args ...string) string {
	t.Helper()
	t.Setenv("MEM_API_KEY", "")
	oldArgs, oldStdout := os.Args, os.Stdout
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"example"}, args...)
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	defer func() { os.Args, os.Stdout = oldArgs, oldStdout }()
	main()
	w.Close()
	return <-out
}
