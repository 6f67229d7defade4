package doccheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheck runs Check on a small tree made for it, with one documented and
// one undocumented example of each kind of name, and directories and files
// that Check must skip.
func TestCheck(t *testing.T) {
	problems, err := Check(filepath.Join("testdata", "repo"))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(problems))
	for i, p := range problems {
		got[i] = p.String()
	}
	want := []string{
		"nested/sub/lib.go:3: func Checked has no doc comment",
		"pkg/pkg.go:12: field Documented.E has no doc comment",
		"pkg/pkg.go:12: field Documented.F has no doc comment",
		"pkg/pkg.go:14: field Documented.G has no doc comment",
		"pkg/pkg.go:23: type Bare has no doc comment",
		"pkg/pkg.go:24: field Bare.H has no doc comment",
		"pkg/pkg.go:35: type NotOwn has no doc comment",
		"pkg/pkg.go:45: method (*Documented).N has no doc comment",
		"pkg/pkg.go:47: method Bare.O has no doc comment",
		"pkg/pkg.go:58: method Iface.T has no doc comment",
		"pkg/pkg.go:69: method Generic.Q has no doc comment",
		"pkg/pkg.go:74: func G has no doc comment",
		"pkg/pkg.go:86: const C4 has no doc comment",
		"pkg/pkg.go:90: var V1 has no doc comment",
		"pkg/pkg.go:90: var V2 has no doc comment",
		"pkg/pkg.go:93: var V3 has no doc comment",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Check found:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestCheckParseError checks that a file that does not parse is an error,
// not a silent pass.
func TestCheckParseError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.go"), []byte("package bad\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir); err == nil {
		t.Error("Check of a file that does not parse returned no error")
	}
}

// TestRepository holds the repository to its rule: every exported name of
// its public packages, in the root module and in the modules nested in it
// (redisstore), has a doc comment. The repository's root is two directories
// up; outside a full checkout (the root module alone, from a module cache)
// the nested modules are absent and only the root module is checked.
func TestRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "module github.com/memsdk/mem-go\n") {
		t.Fatalf("%s is not the root module's go.mod:\n%s", filepath.Join(root, "go.mod"), mod)
	}
	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Errorf("%d exported name(s) without a doc comment: say what each does (and its cost and concurrency guarantees where they matter) in a comment above it, or, for a struct field, const or var, on its line", len(problems))
	}
}
