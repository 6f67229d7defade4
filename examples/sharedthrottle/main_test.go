package main

import (
	"testing"

	"github.com/memsdk/mem-go/examples/internal/demotest"
	"github.com/stretchr/testify/assert"
)

func TestExampleRuns(t *testing.T) {
	out := demotest.Run(t, main)
	assert.Contains(t, out, "200 admitted")
	assert.Contains(t, out, "429s 0")
	assert.Contains(t, out, "the mock sent 0 429s")
}
