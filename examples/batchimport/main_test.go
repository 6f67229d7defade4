package main

import (
	"testing"

	"github.com/memsdk/mem-go/examples/internal/demotest"
	"github.com/stretchr/testify/assert"
)

func TestExampleRuns(t *testing.T) {
	out := demotest.Run(t, main, "../docs")
	assert.Contains(t, out, "25 files (.md and .txt);")
	assert.Contains(t, out, "created 25, already there 0, failed 0")
	assert.Contains(t, out, "429s 0")
}

// TestRefusesARealServerWithoutOptIn: with MEM_API_KEY set, the example
// used to write to that account at once; it now says where and what, and
// needs MEM_EXAMPLES_REAL=1.
func TestRefusesARealServerWithoutOptIn(t *testing.T) {
	demotest.RefusesRealServer(t, main, "../docs")
}
