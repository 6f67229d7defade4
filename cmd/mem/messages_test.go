package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/throttle"
)

// noteCost is what a note creation costs at Mem's prices.
var noteCost = throttle.MemCost("POST", "/v2/notes")

// answer admits a call of cost c on th and completes it with a 200 whose
// headers say the minute windows now hold req and cpx tokens, as Mem's
// answer would (Mem's limits: 100 requests and 200 complexity a minute).
func answer(t *testing.T, th *throttle.Throttle, c throttle.Cost, req, cpx int64) {
	t.Helper()
	tk, err := th.Wait(t.Context(), c)
	require.NoError(t, err)
	h := http.Header{}
	headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: req, Reset: time.Duration(100-req) * time.Minute / 100},
		Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: cpx, Reset: time.Duration(200-cpx) * time.Minute / 200},
	}.Write(h)
	th.Done(tk, throttle.Outcome{Responded: true, StatusCode: http.StatusOK, Header: h})
}

// queueOne starts a call of cost c that has to wait in th's queue, and
// returns once it waits there, nothing in flight. The func it returns ends
// the wait (the call takes nothing) and the goroutine that waited.
func queueOne(t *testing.T, th *throttle.Throttle, c throttle.Cost) (cancel func()) {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if tk, err := th.Wait(ctx, c); err == nil {
			th.Done(tk, throttle.Outcome{})
		}
	})
	synctest.Wait()
	s := th.Snapshot()
	require.Equal(t, 1, s.Queued, "the call waits for its tokens")
	require.Zero(t, s.InFlight)
	return func() { stop(); wg.Wait() }
}

// TestProgressSaysETAUnknownWhenTheEstimateSeesNoWait: a call waits in the
// throttle's queue, with nothing in flight, while the buckets hold its
// cost: the estimator, which counts on every token the buckets hold, sees
// no wait, so the line says "ETA unknown" rather than "ETA no wait". Here
// the call leaves the tokens reserved for interactive calls (WithReserve),
// which no other user of the key is spending. With more calls to
// make than the buckets hold, the estimate sees a wait and gives it.
func TestProgressSaysETAUnknownWhenTheEstimateSeesNoWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := throttle.New(throttle.DefaultPolicy(), throttle.WithReserve(throttle.Cost{Complexity: 50}, time.Hour))
		require.NoError(t, err)
		answer(t, th, noteCost, 99, 20) // 20 complexity tokens: a note's cost, not the reserve on top
		cancel := queueOne(t, th, noteCost)
		defer cancel()
		require.Zero(t, th.Snapshot().Reserve, "alone on the key")

		var out strings.Builder
		p := newProgress(&out, false, nil, th, 1, noteCost) // the queued call is the last
		lp := p.parts()
		assert.Equal(t, "ETA unknown", lp.eta)
		assert.Equal(t, "waiting for cpx/min tokens", lp.note, "no tokens are kept for others")
		p.finish()
		assert.Contains(t, out.String(), "imported 0 of 1, waiting for cpx/min tokens, ETA unknown; buckets cpx/min 20/200")

		p = newProgress(&out, false, nil, th, 41, noteCost) // 40 calls more: 41 tokens, the buckets hold 20
		lp = p.parts()
		assert.Equal(t, "ETA about 7 s", lp.eta, "21 tokens at 200 a minute")
		p.finish()
	})
}

// TestProgressSaysOtherUsersAreSpendingTheTokens: the answers show another
// consumer of the key spending complexity tokens between this client's
// calls. The throttle then requires, on top of a call's cost, what the
// other has probably spent since the last answer: a call waits though the
// buckets hold its cost, the ETA is unknown, and the line says the tokens
// it waits for are held back for spending this client did not count.
func TestProgressSaysOtherUsersAreSpendingTheTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := throttle.New(throttle.DefaultPolicy())
		require.NoError(t, err)
		answer(t, th, noteCost, 99, 60) // the first answer: what others spent before is not drift
		for cpx := int64(55); cpx >= 5; cpx -= 5 {
			// 5 fewer each time, after 2 s or more of refill (6.7 tokens)
			// and the call's 1: the rest, someone else spent.
			time.Sleep(2 * time.Second)
			answer(t, th, noteCost, 99, cpx)
		}
		cancel := queueOne(t, th, noteCost)
		defer cancel()
		require.NotZero(t, th.Snapshot().Reserve.Complexity, "the throttle knows of the other consumer")

		var out strings.Builder
		p := newProgress(&out, false, nil, th, 1, noteCost)
		lp := p.parts()
		assert.Equal(t, "ETA unknown", lp.eta)
		assert.Equal(t, "waiting for cpx/min tokens (held back for spending this client did not count: another user of the key, or calls dearer than priced)", lp.note)
		p.finish()
		assert.Contains(t, out.String(), "imported 0 of 1, waiting for cpx/min tokens (held back for spending this client did not count: another user of the key, or calls dearer than priced), ETA unknown; buckets cpx/min 5/200")
	})
}

// TestPlanCountsUnreadableFiles: a document that cannot be read (here a
// link to a file that is gone) is counted in the plan's first line as
// unreadable, beside those already done and skipped, and the dry run names
// it with the reason; the line counts no unreadable files when every one
// was read.
func TestPlanCountsUnreadableFiles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := docs(t, 2)
		journal := filepath.Join(t.TempDir(), "j")
		code, out, errOut := cli(t.Context(), nil, "", "import", "--mock", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "2 documents: 0 already done, 0 skipped, 2 to import.\n")
		assert.NotContains(t, out, "unreadable")

		if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "gone.md")); err != nil {
			t.Skipf("no symbolic link on this system: %v", err)
		}
		code, out, errOut = cli(t.Context(), nil, "", "import", "--mock", "--dry-run", "--journal", journal, dir)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "3 documents: 0 already done, 0 skipped, 1 unreadable, 2 to import.\n")
		assert.Regexp(t, `1 document could not be read:\n  \S*gone\.md: .*no such file`, out)
	})
}
