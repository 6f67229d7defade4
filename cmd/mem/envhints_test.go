package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBadKeySaysWhereAndNeverShowsIt: MEM_API_KEY=$'test-key\n' (a key
// copied with its file's newline) said "API key holds a space, control or
// non-ASCII character". Now the message names MEM_API_KEY and the
// character, says to remove a trailing one, and never shows the key.
func TestBadKeySaysWhereAndNeverShowsIt(t *testing.T) {
	for key, want := range map[string]string{
		"Sec7-Q9y\n":   "mem: MEM_API_KEY ends with a newline: remove the trailing newline (the key is not shown)\n",
		"Sec7-Q9y\r\n": "mem: MEM_API_KEY ends with a carriage return: remove the trailing carriage return (the key is not shown)\n",
		"Sec7-Q9y ":    "mem: MEM_API_KEY ends with a space: remove the trailing space (the key is not shown)\n",
		"Sec7\tQ9y":    "mem: MEM_API_KEY holds a tab at byte 5: an API key is printable ASCII without spaces (the key is not shown)\n",
		"Sec7-Qéy":     "mem: MEM_API_KEY holds a non-ASCII character at byte 7: an API key is printable ASCII without spaces (the key is not shown)\n",
	} {
		code, out, errOut := cliWith(context.Background(), nil, map[string]string{"MEM_API_KEY": key}, "limits")
		assert.Equal(t, exitFailed, code, out+errOut)
		assert.Equal(t, want, errOut, "%q", key)
		assert.NotContains(t, errOut, "Sec7", "the key is never shown, nor part of it")
		assert.NotContains(t, errOut, "Q9y")
	}
}

// TestBadURLSaysWhereAndSuggests: MEM_API_URL=127.0.0.1:18080 said "the
// server "127.0.0.1:18080" is not an http(s) URL (e.g.
// https://api.mem.ai)". Now it names the variable or flag it came from and
// suggests the URL it most likely means.
func TestBadURLSaysWhereAndSuggests(t *testing.T) {
	for _, c := range []struct{ env, flag, want string }{
		{env: "127.0.0.1:18080", want: `MEM_API_URL is "127.0.0.1:18080", not an http(s) URL: did you mean http://127.0.0.1:18080?`},
		{env: "localhost:8080/mem", want: `MEM_API_URL is "localhost:8080/mem", not an http(s) URL: did you mean http://localhost:8080/mem?`},
		{env: "api.mem.ai", want: `MEM_API_URL is "api.mem.ai", not an http(s) URL: did you mean https://api.mem.ai?`},
		{env: "api.mem.ai/v2/", want: `MEM_API_URL is "api.mem.ai/v2/", not an http(s) URL: did you mean https://api.mem.ai?`},
		{flag: "[::1]:9000", want: `--base-url is "[::1]:9000", not an http(s) URL: did you mean http://[::1]:9000?`},
		{flag: "ftp://api.mem.ai", want: `--base-url is "ftp://api.mem.ai", not an http(s) URL (e.g. https://api.mem.ai)`},
		{env: "https://api.mem.ai/v2", want: `MEM_API_URL https://api.mem.ai/v2 ends in /v2, which mem adds itself: use https://api.mem.ai`},
	} {
		args := []string{"limits"}
		if c.flag != "" {
			args = append(args, "--base-url", c.flag)
		}
		code, out, errOut := cliWith(context.Background(), nil, map[string]string{"MEM_API_KEY": "k", "MEM_API_URL": c.env}, args...)
		assert.Equal(t, exitUsage, code, out+errOut)
		assert.Equal(t, "mem: "+c.want+"\nRun 'mem limits --help' for usage.\n", errOut)
	}
}
