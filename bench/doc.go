// Package bench is the SDK's efficiency and fault report: it replays
// workloads W1–W6 (and W3b, W3 with its mem-it calls queued first) against
// the mock with Mem's published limits, in virtual time (each run in its
// own testing/synctest bubble over the mock's in-memory RoundTripper), for
// five contenders: this SDK (memclient and its throttle), go-retryablehttp
// alone with its default policy, go-retryablehttp behind a rate.Limiter at
// the documented minute rate of requests (the fix users commonly write by
// hand), a hand-rolled golang.org/x/time/rate setup with one limiter per
// bucket, and the theoretical optimum of the bucket math
// (throttle.Policy.Optimum). A second table runs W2 and W3 on the SDK under
// each of the mock's faults. A third, the foreground latency table, runs an
// import and a user's searches on one key: the SDK with one FIFO queue,
// hand-split x/time/rate limiters, and the SDK with priorities (and with an
// interactive reserve).
//
// The package holds only tests. One command measures every row 20 times
// and writes the figures (the range of each over the runs) to
// testdata/report.json and the three tables into RESULTS.md:
//
//	go test ./bench -run TestReport -update
//
// Without -update, TestReport (run by CI) measures every row once, asserts
// the SDK's goals (efficiency, zero 429s where nobody else uses the key,
// nothing failed, lost or duplicated), and fails if the run disagrees with
// the committed figures beyond a tolerance, or if RESULTS.md's tables are not
// the rendering of testdata/report.json: the committed report stays what the
// code does. RESULTS.md also holds the load run and the fuzzing record;
// load.sh is the loopback load run with wrk (the mock against a bare
// net/http handler, bench/cmd/bare).
//
// network_test.go runs the SDK over mock.Network, a simulated network that
// meters calls out of send order and answers them out of meter order, for
// many seeds, and asserts no 429 and at least 0.98 of the optimum per seed;
// bench/cmd/netreport is its real-time counterpart over loopback.
package bench
