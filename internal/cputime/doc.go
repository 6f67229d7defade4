// Package cputime reads the CPU time the process has used, for the
// module's benchmarks (getrusage; elsewhere the benchmark is skipped).
package cputime
