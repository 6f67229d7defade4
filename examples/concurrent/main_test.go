package main

import (
	"testing"

	"github.com/memsdk/mem-go/examples/internal/demotest"
	"github.com/stretchr/testify/assert"
)

func TestExampleRuns(t *testing.T) {
	out := demotest.Run(t, main)
	assert.Contains(t, out, "400 calls from 64 goroutines")
	assert.Contains(t, out, "429s seen: 0")
	assert.Contains(t, out, "the mock sent 0 429s")
}
