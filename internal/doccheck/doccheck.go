// Package doccheck finds exported names without a doc comment in the
// repository's public packages, so that a test can hold the project to its
// rule that `go doc` documents every exported name.
//
// It reads source files with go/parser only: it needs no type information,
// builds nothing, and does not care which module a directory belongs to, so
// one walk covers the root module and the modules nested inside it.
package doccheck

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// SkipDirs are the directory names whose trees Check does not enter: code
// that is not a public package (internal, commands, benchmarks, examples,
// test data) and the repository's own tool module.
var SkipDirs = []string{"internal", "cmd", "bench", "examples", "testdata", "tools", "vendor"}

// A Problem is one exported name that has no doc comment.
type Problem struct {
	// Pos is where the name is declared; its Filename is relative to the
	// directory given to Check.
	Pos token.Position
	// What describes the name as go doc would list it, for example
	// "func New", "method (*Client).Do" or "field Options.Timeout".
	What string
}

// String formats p as "file:line: what has no doc comment".
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s has no doc comment", p.Pos.Filename, p.Pos.Line, p.What)
}

// Check parses every non-test .go file under root, outside the directories
// named in SkipDirs and outside main packages, and returns the exported names
// that lack a doc comment, sorted by file and line:
//
//   - package-level types and funcs, and methods on exported types: a doc
//     comment above the declaration (or, for a type, above its group);
//   - consts and vars: a doc comment above the name, above its group, or a
//     trailing comment on its line;
//   - exported fields of exported struct types: a doc comment above the field
//     or a trailing comment on its line (names declared together, as in
//     `A, B int`, share one), and exported methods of exported interfaces,
//     likewise. An embedded field or interface is exempt: go doc shows its
//     type, which has a doc comment of its own.
//
// A comment made only of directives (//go:...) does not count. Check returns
// an error if a file does not parse.
func Check(root string) ([]Problem, error) {
	var problems []Problem
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (slices.Contains(SkipDirs, name) || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		found, err := checkFile(root, path)
		problems = append(problems, found...)
		return err
	})
	slices.SortFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Pos.Filename, b.Pos.Filename), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
	return problems, err
}

// checkFile returns the problems of one file.
func checkFile(root, path string) ([]Problem, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if f.Name.Name == "main" {
		return nil, nil
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return nil, err
	}
	c := &checker{fset: fset, file: filepath.ToSlash(rel)}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			c.funcDecl(d)
		case *ast.GenDecl:
			c.genDecl(d)
		}
	}
	return c.problems, nil
}

// checker collects the problems of one file.
type checker struct {
	fset     *token.FileSet
	file     string
	problems []Problem
}

// report records that the name at pos, described by what, has no doc comment.
func (c *checker) report(pos token.Pos, what string) {
	p := c.fset.Position(pos)
	p.Filename = c.file
	c.problems = append(c.problems, Problem{Pos: p, What: what})
}

// funcDecl checks an exported func, or a method whose receiver type is exported.
func (c *checker) funcDecl(d *ast.FuncDecl) {
	if !d.Name.IsExported() || documented(d.Doc) {
		return
	}
	if d.Recv == nil {
		c.report(d.Name.Pos(), "func "+d.Name.Name)
		return
	}
	recv, ptr := receiverType(d.Recv.List[0].Type)
	if !ast.IsExported(recv) {
		return
	}
	if ptr {
		recv = "(*" + recv + ")"
	}
	c.report(d.Name.Pos(), "method "+recv+"."+d.Name.Name)
}

// receiverType returns the name of a method's receiver type, and whether the
// receiver is a pointer.
func receiverType(expr ast.Expr) (name string, ptr bool) {
	if star, ok := expr.(*ast.StarExpr); ok {
		expr, ptr = star.X, true
	}
	switch t := expr.(type) { // generic receivers: T[P] and T[P, Q]
	case *ast.IndexExpr:
		expr = t.X
	case *ast.IndexListExpr:
		expr = t.X
	}
	if id, ok := expr.(*ast.Ident); ok {
		return id.Name, ptr
	}
	return "", ptr
}

// genDecl checks the types, consts and vars of one declaration.
func (c *checker) genDecl(d *ast.GenDecl) {
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			c.typeSpec(d, s)
		case *ast.ValueSpec:
			if documented(d.Doc) || documented(s.Doc) || documented(s.Comment) {
				continue
			}
			for _, name := range s.Names {
				if name.IsExported() {
					c.report(name.Pos(), d.Tok.String()+" "+name.Name)
				}
			}
		}
	}
}

// typeSpec checks an exported type and the exported members of a struct or
// interface.
func (c *checker) typeSpec(d *ast.GenDecl, s *ast.TypeSpec) {
	if !s.Name.IsExported() {
		return
	}
	if !documented(s.Doc) && !documented(d.Doc) { // go doc shows a group's doc for its types
		c.report(s.Name.Pos(), "type "+s.Name.Name)
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		c.members(t.Fields, "field "+s.Name.Name+".")
	case *ast.InterfaceType:
		c.members(t.Methods, "method "+s.Name.Name+".")
	}
}

// members checks the exported fields of a struct or methods of an
// interface; what prefixes each name in a report.
func (c *checker) members(list *ast.FieldList, what string) {
	for _, field := range list.List {
		if documented(field.Doc) || documented(field.Comment) {
			continue
		}
		for _, name := range field.Names { // none for an embedded field or interface
			if name.IsExported() {
				c.report(name.Pos(), what+name.Name)
			}
		}
	}
}

// documented reports whether g holds comment text other than directives.
func documented(g *ast.CommentGroup) bool {
	return g != nil && strings.TrimSpace(g.Text()) != ""
}
