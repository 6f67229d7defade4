package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDidYouMean: "mem improt" and "mem import --colection X" said only
// that the command or flag was unknown. Now they suggest the near ones,
// commands and flags (the command's own and the global ones), still as
// usage errors.
func TestDidYouMean(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"improt"}, `mem: unknown command "improt" for "mem"; did you mean import?`},
		{[]string{"exprot", "dir"}, `mem: unknown command "exprot" for "mem"; did you mean export?`},
		{[]string{"notes", "lsit"}, `mem: unknown command "lsit" for "mem notes"; did you mean list?`},
		{[]string{"import", "--colection", "X", "dir"}, `mem: unknown flag: --colection; did you mean --collection?`},
		{[]string{"import", "--retry-unknwn", "dir"}, `mem: unknown flag: --retry-unknwn; did you mean --retry-unknown?`},
		{[]string{"limits", "--jsn"}, `mem: unknown flag: --jsn; did you mean --json?`},
		{[]string{"import", "--dry", "dir"}, `mem: unknown flag: --dry; did you mean --dry-run?`},
		{[]string{"import", "--zzzzzz", "dir"}, `mem: unknown flag: --zzzzzz`},
	} {
		code, out, errOut := cliWith(context.Background(), nil, nil, c.args...)
		assert.Equal(t, exitUsage, code, out+errOut)
		first, _, _ := strings.Cut(errOut, "\n")
		assert.Equal(t, c.want, first, "%v", c.args)
	}
}
