package bench

import (
	"os"
	"testing"

	"github.com/memsdk/mem-go/mock"
)

// Bugs found by the harness in other packages, kept here as failing tests
// for their owners. Each is skipped with its reason; run them with
// MEMBENCH_BUGS=1 go test ./bench -run Bug -v. A fixed one leaves, and its
// workload's goal is asserted in TestReport instead (the throttle's resync
// of reordered responses: reported here, fixed in f435793, tested in
// throttle/resync_test.go).

func skipBug(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("MEMBENCH_BUGS") == "" {
		t.Skip("known bug, reported to its owner: " + reason)
	}
}

// TestBugFIFOHeadOfLine: the throttle's strict FIFO costs a quarter of the
// throughput when mem-it calls arrive together. W3b is W3 with its 20 mem-it
// calls queued before the 600 others (W3 spreads them): the SDK takes 475–481 s
// against an optimum of 360 s (efficiency 0.75–0.76; 480.6 s is
// Policy.Optimum of the calls in arrival order). It takes the full sizes: at
// the short ones the request bucket never binds and nothing is lost. While a
// mem-it at the head waits 12 s for 40 complexity tokens, the cost-1 calls
// behind it may not pass, so the request bucket sits full at 100 and its
// refill is lost; afterwards the 600 cost-1 calls are bound by the request
// bucket (one per 0.6 s) while complexity refills at twice what they use. The optimum runs both buckets at once:
// complexity is the binding bucket (1400 tokens: 200 + 3.33/s × 360 s), and
// spreading the mem-it among the other calls keeps it busy all along. A fix
// would let a call pass the head when it fits and delays the head's
// admission by at most a bound (or schedule fairly across cost classes),
// keeping FIFO's promise that a mem-it is not starved.
func TestBugFIFOHeadOfLine(t *testing.T) {
	skipBug(t, "throttle: strict FIFO serialises mem-it and cheap calls when mem-it arrive together (W3b: efficiency 0.75)")
	var w workload
	for _, x := range workloads(fullSizes) {
		if x.name == "W3b" {
			w = x
		}
	}
	r := run(t, w, "sdk", newSDK, mock.Faults{}, nil)
	if e := r.efficiency(); e < 0.99 {
		t.Errorf("W3b: efficiency %.3f (%v against an optimum of %v), goal 0.99", e, r.elapsed, r.optimum)
	}
}
