package mock

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDoesNotImportThrottle keeps the referee apart from the player: the
// mock's meter must not share code with the client's throttle.
func TestDoesNotImportThrottle(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			require.False(t, strings.HasSuffix(path, "/throttle") || strings.Contains(path, "/throttle/"),
				"%s imports %s", f, path)
		}
	}
}
