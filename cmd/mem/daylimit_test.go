package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/mock"
	"github.com/memsdk/mem-go/throttle"
)

// TestStopAtDayLimitHonoursWhatTheRunLearns: the stop point used to be
// computed once, from full buckets (205 mem-its). With the complexity day
// bucket already at about 1000 of 8000, a run met a 429 after 25 mem-its,
// paused for minutes and marked a document failed. Now the stop follows the
// day levels the throttle learns during the run: once they show that the
// next calls would wait for a day window, it stops, marks nothing failed,
// journals only what was done, and says why it stopped. (The headers show a
// day window only when it binds, so the run learns it late: from a reading
// of an almost empty day window, or from a 429, which it then counts as not
// attempted.)
func TestStopAtDayLimitHonoursWhatTheRunLearns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		require.True(t, srv.Spend(mock.DefaultKey, 0, 7000)) // another process used most of the day
		time.Sleep(time.Minute)                              // the minute windows are full again
		lv, _ := srv.Levels(mock.DefaultKey)
		t.Logf("levels before the run: %+v", lv)
		dir := docs(t, 300)
		journal := filepath.Join(t.TempDir(), "j")
		start := time.Now()
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--stop-at-day-limit",
			"--journal", journal, "--json", dir)
		took := time.Since(start)
		assert.Equal(t, exitFailed, code, "not everything made it")
		var s summary
		require.NoError(t, json.Unmarshal([]byte(out), &s), out)
		t.Logf("imported %d, not attempted %d, 429s %d, in %s; stderr: %s", s.Imported, s.NotAttempted, srv.Count429(), took, errOut)
		assert.Empty(t, s.Failed, "nothing failed: what was not sent was not attempted")
		assert.Empty(t, s.Unknown)
		assert.Equal(t, 300, s.Imported+s.NotAttempted)
		assert.Equal(t, len(srv.Notes(mock.DefaultKey)), s.Imported, "every mem-it that reached Mem is counted")
		assert.Greater(t, s.Imported, 20)
		assert.Less(t, s.Imported, 30, "about 1000 tokens, 40 a call")
		assert.Contains(t, s.StoppedAtDayLimit, "the complexity day window has")
		assert.Less(t, took, 8*time.Minute, "no wait for the day window: about 12 s a call")

		data, err := os.ReadFile(journal)
		require.NoError(t, err)
		done := strings.Count(string(data), `"outcome":"done"`)
		assert.Equal(t, s.Imported, done, "the journal holds what was done, and nothing else")
		assert.Equal(t, 0, strings.Count(string(data), `"outcome":"failed"`))

		// The day window refills: the same command goes on from there.
		time.Sleep(2 * time.Hour)
		code, out, _ = cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--stop-at-day-limit", "--journal", journal, "--json", dir)
		assert.Equal(t, exitFailed, code)
		var again summary
		require.NoError(t, json.Unmarshal([]byte(out), &again), out)
		assert.Equal(t, s.Imported, again.AlreadyDone)
		assert.Empty(t, again.Failed)
		assert.Positive(t, again.Imported)
		assert.Equal(t, len(srv.Notes(mock.DefaultKey)), s.Imported+again.Imported)
	})
}

// TestInterruptedRunCountsTheWaitItCut: Ctrl-C after about 6 s of waiting
// for complexity tokens used to report "waiting for rate-limit tokens: 0s",
// since the throttle counts a wait only once it ends in an admission. The
// waits that the interruption cut short count now.
// TestStopAtDayLimitThatLeftNothingUndoneIsNoStop: a run whose last call
// left the day window low finished its work; it is not reported as stopped
// (which exits 1).
func TestStopAtDayLimitThatLeftNothingUndoneIsNoStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		require.True(t, srv.Spend(mock.DefaultKey, 0, 7935)) // 65 complexity tokens left today: one mem-it
		time.Sleep(time.Minute)
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", "--via", "mem-it", "--stop-at-day-limit",
			"--journal", filepath.Join(t.TempDir(), "j"), "--json", docs(t, 1))
		require.Equal(t, exitOK, code, out+errOut)
		var s summary
		require.NoError(t, json.Unmarshal([]byte(out), &s), out)
		assert.Equal(t, 1, s.Imported)
		assert.Empty(t, s.StoppedAtDayLimit)
	})
}

func TestInterruptedRunCountsTheWaitItCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		require.True(t, srv.Spend(mock.DefaultKey, 0, 200)) // the minute's complexity is spent
		dir := docs(t, 3)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(6*time.Second, cancel)
		code, out, _ := cli(ctx, srv, "", "import", "--mock", "--via", "mem-it", "--json", dir)
		assert.Equal(t, exitInterrupted, code)
		var s summary
		require.NoError(t, json.Unmarshal([]byte(out), &s), out)
		assert.Equal(t, 3, s.NotAttempted)
		assert.InDelta(t, 6, durationOf(s.WaitedWall).Seconds(), 0.5, "the wait the interruption cut short")
		assert.GreaterOrEqual(t, durationOf(s.WaitedSummed).Seconds(), 5.5)
	})
}

// spentDayAPI refuses, for the rate limit, the item whose key is spent, as
// the client does when a 429's wait is too long to retry.
type spentDayAPI struct {
	instantAPI
	spent string
}

func (a spentDayAPI) CreateNote(_ context.Context, _ string, it item, _ []string) error {
	if it.Key == a.spent {
		return &memclient.RateLimitError{API: &memclient.APIError{StatusCode: 429}, RetryAfter: 5 * time.Hour}
	}
	return nil
}

// TestRateLimitRefusalStopsAtTheDayLimit: with the day stop on, a call the
// client gives up on for the rate limit (a day window spent) stops the run:
// it and the calls after it are not attempted, not failed. Without the day
// stop it is a failure like any other.
func TestRateLimitRefusalStopsAtTheDayLimit(t *testing.T) {
	todo := []item{{Key: "a.md", Where: "a.md"}, {Key: "b.md", Where: "b.md"}, {Key: "c.md", Where: "c.md"}}
	for _, stop := range []bool{true, false} {
		th, err := throttle.New(throttle.DefaultPolicy())
		require.NoError(t, err)
		calls := newImportCalls()
		if stop {
			calls.stopAtDayLimit(th, callCost(th.Policy(), viaNotes))
		}
		im := &importer{api: spentDayAPI{spent: "b.md"}, journal: memoryJournal(), via: viaNotes, concurrency: 1, limit: -1, calls: calls}
		s, err := im.work(t.Context(), todo, nil, newSummary())
		require.NoError(t, err)
		if stop {
			assert.Equal(t, 1, s.Imported)
			assert.Empty(t, s.Failed)
			assert.Equal(t, 2, s.NotAttempted)
			assert.Contains(t, calls.stoppedBecause(), "a day window is used up")
		} else {
			assert.Equal(t, 2, s.Imported)
			require.Len(t, s.Failed, 1)
			assert.Equal(t, "b.md", s.Failed[0].Where)
			assert.Empty(t, calls.stoppedBecause())
		}
	}
}

// TestBlockedClockAddsTheUnionOfWaitsInAnyOrder: the waits an import cut
// short are added after the throttle's, out of order; the wall time blocked
// is still the length of their union.
func TestBlockedClockAddsTheUnionOfWaitsInAnyOrder(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	var b blockedClock
	b.add(waitSpan{at(10), at(20)})
	b.add(waitSpan{at(30), at(35)})
	b.add(waitSpan{at(0), at(15)}) // cut short, added last
	assert.Equal(t, 25*time.Second, b.total(), "0–20 and 30–35")
}

// TestDayBindsOnlyWhenTheDayWindowWaitsLonger: a day bucket short of the
// call's tokens stops the run only when its refill takes longer than the
// minute windows' would.
func TestDayBindsOnlyWhenTheDayWindowWaitsLonger(t *testing.T) {
	cost := throttle.Cost{Requests: 1, Complexity: 40}
	snap := func(dayLevel float64) throttle.Snapshot {
		return throttle.Snapshot{Buckets: []throttle.BucketState{
			{Bucket: throttle.Bucket{Kind: headers.Complexity, Window: headers.Minute, Limit: 100, Period: time.Minute}, Level: 0}, // 24 s for 40
			{Bucket: throttle.Bucket{Kind: headers.Complexity, Window: headers.Day, Limit: 8000, Period: 24 * time.Hour}, Level: dayLevel},
		}}
	}
	_, binds := dayBinds(snap(39), 1, cost) // 1 token short: 10.8 s
	assert.False(t, binds, "the minute window waits longer")
	b, binds := dayBinds(snap(0), 1, cost) // 40 tokens short: 432 s
	assert.True(t, binds)
	assert.Equal(t, headers.Day, b.Window)
}

// TestSendGuardSendsNoCallCancelledWhileItWaited: a call the day stop
// cancelled after the throttle admitted it, but before it went into the
// network, is not sent, and its wait counts as cut short.
func TestSendGuardSendsNoCallCancelledWhileItWaited(t *testing.T) {
	ic := newImportCalls()
	ctx, st, ok := ic.begin(t.Context())
	require.True(t, ok)
	sent := 0
	g := sendGuard{base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://mem.test/v2/notes", nil)
	require.NoError(t, err)
	st.cancel() // what the day stop does to a call not in the network
	_, err = g.RoundTrip(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, sent)
	ic.end(st)
	_, spans := ic.cutWaits()
	assert.Len(t, spans, 1)
}

// collectingAPI records the collections it is asked to ensure and the
// notes it is asked to create.
type collectingAPI struct {
	instantAPI
	mu          sync.Mutex
	collections []string
	notes       []string
}

func (a *collectingAPI) CreateNote(_ context.Context, _ string, it item, _ []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notes = append(a.notes, it.Key)
	return nil
}

func (a *collectingAPI) EnsureCollections(_ context.Context, titles []string) (map[string]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.collections = append(a.collections, titles...)
	return nil, nil
}

// TestDayBoundCutsBeforeSending: --stop-at-day-limit cuts the run before
// anything is sent: the documents past the bound neither go nor have their
// collections created, and a bound of no call at all (a policy whose day
// windows hold less than one call) sends nothing.
func TestDayBoundCutsBeforeSending(t *testing.T) {
	for _, bound := range []int{0, 1} {
		t.Run(strconv.Itoa(bound), func(t *testing.T) {
			th, err := throttle.New(throttle.DefaultPolicy())
			require.NoError(t, err)
			api := &collectingAPI{}
			im := &importer{api: api, th: th, journal: memoryJournal(), via: viaNotes, concurrency: 2, limit: bound}
			todo := []item{
				{Key: "a.md", Where: "a.md", CollectionTitles: []string{"Alpha"}},
				{Key: "b.md", Where: "b.md", CollectionTitles: []string{"Beta"}},
			}
			s, err := im.run(t.Context(), todo, newSummary())
			require.NoError(t, err)
			assert.Equal(t, 2-bound, s.NotAttempted)
			assert.Equal(t, bound, s.Imported)
			assert.NotEmpty(t, s.StoppedAtDayLimit)
			assert.ElementsMatch(t, []string{"a.md", "b.md"}[:bound], api.notes)
			assert.ElementsMatch(t, []string{"Alpha", "Beta"}[:bound], api.collections, "only the collections of what is sent")
		})
	}
}
