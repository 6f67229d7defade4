// Package bench is the SDK's efficiency and fault report: it replays
// workloads W1–W6 (and W3b, W3 with its mem-it calls queued first) against
// the mock with Mem's published limits, in virtual time (each run in its
// own testing/synctest bubble over the mock's in-memory RoundTripper), for
// four contenders: this SDK (memclient and its throttle), go-retryablehttp
// alone with its default policy, a hand-rolled golang.org/x/time/rate setup,
// and the theoretical optimum of the bucket math (throttle.Policy.Optimum).
// A second table runs W2 and W3 on the SDK under each of the mock's faults.
//
// The package holds only tests. Print both tables at full size with
//
//	MEMBENCH_FULL=1 go test ./bench -run TestReport -v
//
// Without MEMBENCH_FULL the same tables run at reduced sizes (W3b stays at
// full size: below it head-of-line blocking costs nothing), and TestReport
// asserts the SDK's goals on them (efficiency, zero 429s where nobody else
// uses the key, nothing failed, lost or duplicated), so a regression turns
// CI red. RESULTS.md holds the latest full run, the load run and the fuzzing
// record; load.sh is the loopback load run with wrk (the mock against a bare
// net/http handler, bench/cmd/bare).
//
// network_test.go runs the SDK over mock.Network, a simulated network that
// meters calls out of send order and answers them out of meter order, for
// many seeds, and asserts no 429 and at least 0.98 of the optimum per seed;
// bench/cmd/netreport is its real-time counterpart over loopback.
package bench
