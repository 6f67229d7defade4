package main

import (
	"testing"

	"github.com/memsdk/mem-go/examples/internal/demotest"
	"github.com/stretchr/testify/assert"
)

func TestExampleRuns(t *testing.T) {
	out := demotest.Run(t, main)
	assert.Contains(t, out, `created "Quick start"`)
	assert.Contains(t, out, `read back: "Quick start\n\nCreated by the mem-go quick start example."`)
	assert.Contains(t, out, "search hit:")
	assert.Contains(t, out, "1 note in all")
}

// TestRefusesARealServerWithoutOptIn: with MEM_API_KEY set, the example
// used to write to that account at once; it now says where and what, and
// needs MEM_EXAMPLES_REAL=1.
func TestRefusesARealServerWithoutOptIn(t *testing.T) {
	demotest.RefusesRealServer(t, main)
}
