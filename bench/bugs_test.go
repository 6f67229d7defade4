package bench

import (
	"context"
	"net/http"
	"os"
	"testing"
	"testing/synctest"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// Bugs found by the harness in other packages, kept here as failing tests
// for their owners. Each is skipped with its reason; run them with
// MEMBENCH_BUGS=1 go test ./bench -run Bug -v.

func skipBug(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("MEMBENCH_BUGS") == "" {
		t.Skip("known bug, reported to its owner: " + reason)
	}
}

// minuteStatus is a response's rate headers: the minute windows, with
// remaining request and complexity tokens.
func minuteStatus(req, cpx int64) http.Header {
	h := http.Header{}
	headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: throttle.RequestsPerMinute, Remaining: req},
		Complexity: headers.WindowState{Window: headers.Minute, Limit: throttle.ComplexityPerMinute, Remaining: cpx},
	}.Write(h)
	return h
}

// TestBugThrottleResyncReordered: the throttle raises a level above the
// server's when responses arrive out of the order the server processed the
// calls in. Done lets a response raise a level when its call was admitted
// after the call of the last applied response (Ticket seq), and sets the
// level to Remaining minus the calls still in flight. But admission order is
// not the server's order: goroutines admitted at once reach the server in any
// order (the harness sees it in W2 with 16 goroutines, about 1 run in 200,
// under synctest with the in-memory transport; over real connections it is
// the rule). A call admitted last but processed first carries an older,
// higher Remaining; if the calls processed after it have already completed
// (so are no longer in flight), its response raises the level by their
// count. W2 then gets 1–14 429s with nobody else on the key.
//
// Here: A and B are admitted in that order; the server processes B (98
// left), then A (97 left); A's response arrives first, then B's. The server
// holds 97 tokens; the throttle ends with 98.
//
// A fix for the owner to weigh: when a response raises a level, subtract
// also the cost of the calls that completed while its call was in flight
// (the server may have counted them after it): keep a running total of
// completed cost, note it in the ticket at admission, and at Done use
// target = Remaining − (others in flight) − (completed since admission).
// Here B's target becomes 98 − 0 − 1 = 97.
func TestBugThrottleResyncReordered(t *testing.T) {
	skipBug(t, "throttle: Done raises a level from a response the server processed before already-applied ones (see doc comment)")
	synctest.Test(t, func(t *testing.T) {
		th, err := throttle.New(throttle.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		probe, _ := th.Wait(ctx, costOne) // cold start: one call first
		th.Done(probe, throttle.Outcome{Responded: true, StatusCode: 200, Header: minuteStatus(99, 199)})
		a, _ := th.Wait(ctx, costOne)
		b, _ := th.Wait(ctx, costOne)
		th.Done(a, throttle.Outcome{Responded: true, StatusCode: 200, Header: minuteStatus(97, 197)})
		th.Done(b, throttle.Outcome{Responded: true, StatusCode: 200, Header: minuteStatus(98, 198)})
		for _, bs := range th.Snapshot().Buckets {
			if bs.Window == headers.Minute && bs.Kind == headers.Requests && bs.Level > 97 {
				t.Errorf("requests/minute level %.2f, but the server holds 97 tokens: the next calls will get 429", bs.Level)
			}
		}
	})
}

// TestBugFIFOHeadOfLine: the throttle's strict FIFO costs a quarter of the
// throughput when mem-it calls arrive together. W3b is W3 with its 20 mem-it
// calls queued before the 600 others (W3 spreads them): the SDK takes 475–481 s
// against an optimum of 360 s (efficiency 0.75–0.76; 480.6 s is
// Policy.Optimum of the calls in arrival order). It takes the full sizes: at
// the short ones the request bucket never binds and nothing is lost. While a mem-it at the head waits 12 s for 40
// complexity tokens, the cost-1 calls behind it may not pass, so the request
// bucket sits full at 100 and its refill is lost; afterwards the 600 cost-1
// calls are bound by the request bucket (one per 0.6 s) while complexity
// refills at twice what they use. The optimum runs both buckets at once:
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
