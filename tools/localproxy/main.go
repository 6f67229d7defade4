// Command localproxy writes a module proxy in a directory (usable as
// GOPROXY=file:///DIR) that serves modules of the working tree at a version
// they have not been published at yet. scripts/test uses it to install the
// nested redisstore module into a throwaway consumer the way a user would,
// with go get and without go.work or replace directives.
//
// Usage:
//
//	localproxy -out DIR -version vX.Y.Z MODULEDIR...
//
// Each MODULEDIR (a directory holding a go.mod) is served at vX.Y.Z, from
// the files git would commit (tracked and untracked but not ignored; every
// file outside a git work tree) as they are on disk, without nested
// modules: what the proxy would serve for a tag of that tree. The zip is checked against the
// module zip rules (file names, sizes) on the way, so a file that would
// break publishing fails here.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "directory to write the proxy to")
	version := flag.String("version", "", "the version to serve every module at (vX.Y.Z)")
	flag.Parse()
	if *out == "" || !semver.IsValid(*version) || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: localproxy -out DIR -version vX.Y.Z MODULEDIR...")
		os.Exit(2)
	}
	for _, dir := range flag.Args() {
		if err := serve(*out, *version, dir); err != nil {
			fmt.Fprintf(os.Stderr, "localproxy: %s: %v\n", dir, err)
			os.Exit(1)
		}
	}
}

// serve writes dir's module at version into the proxy at out: the list,
// .info, .mod and .zip files of the GOPROXY protocol.
func serve(out, version, dir string) error {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	path := modfile.ModulePath(gomod)
	if path == "" {
		return fmt.Errorf("go.mod names no module")
	}
	m := module.Version{Path: path, Version: version}
	if err := module.Check(m.Path, m.Version); err != nil {
		return err
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	at := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	var z bytes.Buffer
	if files, err := gitFiles(dir); err == nil {
		err = zip.Create(&z, m, files)
		if err != nil {
			return err
		}
	} else if err := zip.CreateFromDir(&z, m, dir); err != nil { // not a git work tree: every file
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	proxyFiles := map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  gomod,
		version + ".zip":  z.Bytes(),
	}
	for name, b := range proxyFiles {
		if err := os.WriteFile(filepath.Join(at, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// gitFiles lists the files of the module in dir that git would commit,
// leaving out nested modules (directories below dir holding a go.mod).
func gitFiles(dir string) ([]zip.File, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var files []zip.File
	for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if inNestedModule(dir, name) {
			continue
		}
		info, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree
		}
		if err != nil {
			return nil, err
		}
		files = append(files, diskFile{slashPath: name, path: filepath.Join(dir, filepath.FromSlash(name)), info: info})
	}
	return files, nil
}

// inNestedModule reports whether the slash-separated path name, relative to
// dir, lies below a directory other than dir that holds a go.mod.
func inNestedModule(dir, name string) bool {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d), "go.mod")); err == nil {
			return true
		}
	}
	return false
}

// diskFile is a zip.File read from disk.
type diskFile struct {
	slashPath, path string
	info            fs.FileInfo
}

func (f diskFile) Path() string                 { return f.slashPath }
func (f diskFile) Lstat() (fs.FileInfo, error)  { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.path) }
