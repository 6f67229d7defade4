// Package buildinfo says which build of a command is running: the module
// version and the VCS revision the Go toolchain stamped into the binary
// (runtime/debug.ReadBuildInfo), for "mem version" and "memmock --version".
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Info is what the binary knows about its build. Empty fields were not
// recorded: "go run" and builds with -buildvcs=false stamp no revision.
type Info struct {
	// Version is the main module's version: "v1.2.3" when installed with
	// "go install module@version", "(devel)" when built from a checkout.
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from.
	Revision string `json:"revision,omitempty"`
	// RevisionTime is that commit's time, in RFC 3339.
	RevisionTime string `json:"revision_time,omitempty"`
	// Modified is true when the working tree had uncommitted changes.
	Modified bool `json:"modified"`
	// Go is the toolchain that built the binary, e.g. "go1.25.0".
	Go string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Read returns the running binary's build information. It never fails: a
// binary without it (built outside module mode) reports "unknown".
func Read() Info {
	info := Info{Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	return FromBuildInfo(bi, info)
}

// FromBuildInfo fills info from bi: the main module's version, the Go
// version, and the vcs.* settings.
func FromBuildInfo(bi *debug.BuildInfo, info Info) Info {
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				info.RevisionTime = t.UTC().Format(time.RFC3339)
			}
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// Short is the version with an abbreviated revision: "v1.2.3 (a1b2c3d4e5f6)".
func (i Info) Short() string {
	if i.Revision == "" {
		return i.Version
	}
	rev := i.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if i.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s (%s)", i.Version, rev)
}

// Long is everything on one line: version, full revision and its time,
// whether the tree was modified, Go version and platform.
func (i Info) Long() string {
	parts := []string{i.Version}
	if i.Revision != "" {
		rev := "revision " + i.Revision
		if i.RevisionTime != "" {
			rev += " from " + i.RevisionTime
		}
		if i.Modified {
			rev += ", with uncommitted changes"
		}
		parts = append(parts, rev)
	} else {
		parts = append(parts, "revision unknown (built without VCS information)")
	}
	parts = append(parts, i.Go+" "+i.Platform)
	return strings.Join(parts, "; ")
}
