// The tools scripts/test runs, pinned: staticcheck, govulncheck, and
// localproxy. `GOWORK=off go -C tools tool -n staticcheck` builds one (once;
// the go command caches it) and prints its path, to run in either module.
// A module of its own so that the tools' dependencies stay out of the SDK's
// go.mod, and because staticcheck v0.8 needs a newer go line than the SDK's.
// Not part of a release.
module github.com/memsdk/mem-go/tools

go 1.26.0

tool (
	golang.org/x/vuln/cmd/govulncheck
	honnef.co/go/tools/cmd/staticcheck
)

require golang.org/x/mod v0.42.0

require (
	github.com/BurntSushi/toml v1.4.1-0.20240526193622-a339e1f7089c // indirect
	golang.org/x/exp/typeparams v0.0.0-20231108232855-2478ac86f678 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/telemetry v0.0.0-20261010193011-f71dc92da45e // indirect
	golang.org/x/tools v0.52.0 // indirect
	golang.org/x/vuln v1.9.0 // indirect
	honnef.co/go/tools v0.8.2 // indirect
)
