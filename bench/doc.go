// Package bench is the efficiency and fault report of issue 6: it replays
// workloads W1–W6 against the mock with Mem's published limits, in virtual
// time (each run in its own testing/synctest bubble over the mock's
// in-memory RoundTripper), for four contenders: this SDK (memclient and its
// throttle), go-retryablehttp alone with its default policy, a hand-rolled
// golang.org/x/time/rate setup, and the theoretical optimum of the bucket
// math (throttle.Policy.Optimum).
//
// The package holds only tests. Print both tables (full sizes) with
//
//	MEMBENCH_FULL=1 go test ./bench -run TestReport -v
//
// Without MEMBENCH_FULL the same tables run at reduced sizes, and
// TestSDKGoals asserts the SDK's goals (efficiency, zero 429s, nothing lost
// or duplicated) on the deterministic rows, so a regression turns CI red.
// RESULTS.md holds the latest full run; load.sh is the loopback load run
// with wrk (mock against a bare net/http handler).
package bench
