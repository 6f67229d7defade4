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

// TestBugW4MemItFails: with a neighbour spending 30% of the key's budget
// (W4), the SDK fails some mem-it calls with *memclient.RateLimitError
// (4–5 of 20 at full size, 1–2 of 10 at short size) and gets 60–80 429s, most
// on mem-it. Mechanism: the throttle's mirror refills at the published rate
// between responses, while the neighbour takes 1 complexity token a second
// of it. A mem-it waits for 40 tokens, 12 s or more with no response to
// resync from, so it leaves when the server holds ~12 fewer than the mirror
// thinks, and gets a 429 (the mock's Retry-After is the time until it would
// fit if nobody else spent). memclient retries it through the throttle again,
// where it joins the back of the FIFO queue and waits for 40 tokens on the
// same optimistic refill, so it is likely refused again; memclient counts
// these 429s against RetryMax (4) and gives up after 5 attempts. Each 429
// also pauses every caller (about 107 s of 416 s at full size). Fixes for
// the owners to weigh: learn the foreign drain rate from the resyncs that
// lower a level (Stats.Lowered) and refill the mirror at the rest; keep a
// 429'd call at the head of the queue; do not count rate-limit 429s (never
// processed, safe) against RetryMax, only the retry wait and the deadline.
func TestBugW4MemItFails(t *testing.T) {
	skipBug(t, "throttle/memclient: under a noisy neighbour mem-it calls fail after 5 rate-limited attempts (see doc comment)")
	w := workloads(shortSizes)[3]
	r := run(t, w, "sdk", newSDK, mock.Faults{}, nil)
	if r.failed > 0 || r.efficiency() < 0.95 {
		t.Errorf("W4: efficiency %.3f, %d of %d calls failed (%d 429s, %d on mem-it): %v", r.efficiency(), r.failed, r.calls, r.n429, r.route429["POST /v2/mem-it"], r.errs)
	}
}
