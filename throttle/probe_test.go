package throttle

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answerBoth completes tk with a 200 reporting the minute windows of both kinds.
func answerBoth(th *Throttle, tk Ticket, requests, complexity int64) {
	h := http.Header{}
	headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: requests},
		Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: complexity},
	}.Write(h)
	th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: h})
}

// TestProbeSendsOneCallAtATime: answers to overlapping calls of a route
// never measured prove a spending nobody counted on (the route costs 10
// complexity tokens, the policy says 1). The throttle probes: one call in
// flight at a time, so that each answer measures the price, until three
// measurements that each show the rise (another consumer may be spending,
// as far as the throttle can tell) set it; then calls overlap again.
func TestProbeSendsOneCallAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(t, DefaultPolicy())
		const path = "/v2/tasks"
		get := func() Ticket {
			tk, err := th.waitRoute(t.Context(), http.MethodGet, path)
			require.NoError(t, err)
			return tk
		}
		requests, complexity := int64(100), int64(200)
		answer := func(tk Ticket) { // the server charges 1 and 10
			requests, complexity = requests-1, complexity-10
			answerBoth(th, tk, requests, complexity)
		}
		answer(get()) // cold start: the first answer tells what others left
		a, b := get(), get()
		answer(a)
		answer(b)
		require.True(t, th.probingPrice(), "the overlapping answers proved a spending")
		require.True(t, th.drift.active, "taken for another consumer's: a rise needs three measurements")

		// The first answer after the overlap measures nothing; three then
		// show the rise.
		for i := 0; th.probingPrice(); i++ {
			require.Less(t, i, 4, "probe calls")
			tk := get()
			next := make(chan Ticket, 1)
			go func() { next <- get() }()
			synctest.Wait()
			require.Empty(t, next, "call %d: a second call went while the probe's was in flight", i)
			answer(tk)
			answer(<-next)
		}
		assert.Equal(t, int64(10), th.Cost(http.MethodGet, path).Complexity)
		assert.False(t, th.probingPrice())
		c, d := get(), get() // both go at once again
		answer(c)
		answer(d)
	})
}

// TestPriceRisesOnMeasurementsThatEachShowIt: with another consumer known
// to spend, one measurement that caught its call (the call cost 1, the
// other's 2 landed in the span) and two honest ones intersect in (1.5, 2.4):
// they agree, yet only one shows a rise, so the price stays. Three that
// each show it (another route's) raise it.
func TestPriceRisesOnMeasurementsThatEachShowIt(t *testing.T) {
	var b costBook
	const route = 7
	believed := Cost{Requests: 1, Complexity: 1}
	b.narrow(route, headers.Complexity, interval{lo: 1.5, hi: 4.4, n: 1}, 1, true)
	for range 2 {
		b.narrow(route, headers.Complexity, interval{lo: -0.4, hi: 2.4, n: 1}, 1, true)
	}
	assert.Equal(t, int64(1), b.costOf(route, believed).Complexity)
	const other = 8
	for range 3 {
		b.narrow(other, headers.Complexity, interval{lo: 2, hi: 4, n: 1}, b.costOf(other, believed).Complexity, true)
	}
	assert.Equal(t, int64(3), b.costOf(other, believed).Complexity)
}

// TestProbeEndsAndIsBounded: a probe ends after probeAnswers answers when
// nothing settles it, and a route is probed maxProbes times at most until
// a measurement sets its price.
func TestProbeEndsAndIsBounded(t *testing.T) {
	var p probe
	seq := uint64(0)
	for i := range maxProbes {
		p.start(7, headers.Complexity)
		p.began(seq + 5) // 5 calls in flight
		require.True(t, p.on(), "probe %d", i)
		for range 5 {
			p.answered(seq + 1)
			seq++
		}
		require.True(t, p.on(), "probe %d: the calls in flight when it began do not count", i)
		for range probeAnswers {
			seq++
			p.answered(seq)
		}
		require.False(t, p.on(), "probe %d ends after %d answers", i, probeAnswers)
	}
	p.start(7, headers.Complexity)
	assert.False(t, p.on(), "no more probes of the route")
	p.start(8, headers.Complexity)
	assert.True(t, p.on(), "another route may be probed")
	p.priced(8, headers.Complexity)
	assert.False(t, p.on(), "a price set ends its probe")

	p.start(9, headers.Requests)
	p.start(9, headers.Complexity)
	p.settle(9, headers.Requests)
	assert.True(t, p.on(), "one kind still in doubt")
	p.settle(9, headers.Complexity)
	assert.False(t, p.on())
}

// TestProbeHoldsBackfillToOneCall: while a probe is on, a waiting head
// that lets calls pass it lets one at most: two lines behind it (two
// costs), one wake, one call admitted.
func TestProbeHoldsBackfillToOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th, err := New(DefaultPolicy()) // the in-memory store: this test reaches into it
		require.NoError(t, err)
		tk, err := th.Wait(t.Context(), plain)
		require.NoError(t, err)
		answerBoth(th, tk, 99, 10) // synced; a mem-it must wait, cheap calls fit
		th.mu.Lock()
		defer th.mu.Unlock()
		th.costs.probe.start(7, headers.Complexity)
		require.True(t, th.probingPrice())
		now := th.now()
		line := func(c Cost) *waiter {
			w := &waiter{cost: c, priority: Default, rank: Default.rank(), wake: make(chan struct{}, 1)}
			th.queue.push(w, now)
			return w
		}
		head, a, b := line(memIt), line(plain), line(Cost{Requests: 1, Complexity: 2})
		head.latest = now + backfillDelay*th.tokenWait(now, head) // as its turn sets it
		th.backfillLocked(now, head)
		assert.False(t, head.admitted)
		assert.True(t, a.admitted, "the first line's call passes")
		assert.False(t, b.admitted, "the second waits for the first's answer")
		assert.Equal(t, 1, th.inflightN)
	})
}

// TestProbeMeasuresOnlyItsRoute: while a probe measures one route, calls
// of another route go one at a time too, but their measurements keep the
// hold that an answer proving another consumer's spending put on them:
// that spending would inflate them.
func TestProbeMeasuresOnlyItsRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(t, DefaultPolicy())
		get := func(path string) Ticket {
			tk, err := th.waitRoute(t.Context(), http.MethodGet, path)
			require.NoError(t, err)
			return tk
		}
		requests, complexity := int64(100), int64(200)
		answer := func(tk Ticket, price int64) {
			requests, complexity = requests-1, complexity-price
			answerBoth(th, tk, requests, complexity)
		}
		answer(get("/v2/tasks"), 10)
		a, b := get("/v2/tasks"), get("/v2/tasks")
		answer(a, 10)
		answer(b, 10)
		require.True(t, th.probingPrice())
		for range 4 { // another route, dearer than believed, measured alone
			answer(get("/v2/digest"), 5)
		}
		assert.Equal(t, int64(1), th.Cost(http.MethodGet, "/v2/digest").Complexity, "held: not measured")
	})
}

// TestSuspectSkipsOnlyConfirmedPrices: an overlapping answer that proves
// a spending nobody counted on starts a probe of its route unless
// measurements confirm the route's price: a route measured only at odds
// with its price (a probe that ran out, say) is probed again.
func TestSuspectSkipsOnlyConfirmedPrices(t *testing.T) {
	const route = 7
	believed := Cost{Requests: 1, Complexity: 1}
	var b costBook
	b.narrow(route, headers.Requests, interval{lo: 0, hi: 2, n: 1}, 1, true)
	b.narrow(route, headers.Complexity, interval{lo: 9, hi: 11, n: 1}, 1, true)
	require.True(t, b.probe.on(), "the complexity price is at odds with its measurement")
	b.probe = probe{probes: b.probe.probes} // it ran out
	b.suspect(route, believed)
	assert.True(t, b.probe.on())
	assert.Equal(t, [2]bool{false, true}, b.probe.doubt, "requests confirmed, complexity not")

	var ok costBook
	ok.narrow(route, headers.Requests, interval{lo: 0, hi: 2, n: 1}, 1, true)
	ok.narrow(route, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 1, true)
	ok.suspect(route, believed)
	assert.False(t, ok.probe.on(), "both prices confirmed")
}

// TestRiseNeedsNoOtherRouteShowingIt: with another consumer known, three
// measurements in a row that each show route R dearer raise its price,
// unless meanwhile a measurement of another route whose price had been
// confirmed showed it dearer too: the other consumer's calls land in the
// measurements of every route, a price rise only in its own route's.
func TestRiseNeedsNoOtherRouteShowingIt(t *testing.T) {
	const r, a = 7, 8
	believed := Cost{Requests: 1, Complexity: 1}
	confirmed := func(b *costBook, route uint64) {
		b.narrow(route, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 1, true)
	}
	dearer := interval{lo: 2, hi: 4, n: 1} // 3: one token, and another's 2
	for _, otherShows := range []bool{false, true} {
		var b costBook
		confirmed(&b, r)
		confirmed(&b, a)
		for i := range 3 {
			b.narrow(r, headers.Complexity, dearer, b.costOf(r, believed).Complexity, true)
			if otherShows && i == 1 {
				b.narrow(a, headers.Complexity, dearer, b.costOf(a, believed).Complexity, true)
			}
		}
		want := int64(3)
		if otherShows {
			want = 1
		}
		assert.Equal(t, want, b.costOf(r, believed).Complexity, "another route showed it dearer too: %v", otherShows)
	}
}

// TestRiseRunStartsAgainAfterAnotherRouteShowsDearer: a measurement of
// another confirmed route shown dearer ends route R's run of rise votes,
// but not its chance: three more in a row, with nothing from elsewhere in
// between, raise R's price. And a held measurement (not clean: on hold
// after a proof of others' spending) of a confirmed route counts as such
// evidence, where one of a route never confirmed does not.
func TestRiseRunStartsAgainAfterAnotherRouteShowsDearer(t *testing.T) {
	const r, a = 7, 8
	believed := Cost{Requests: 1, Complexity: 1}
	dearer := interval{lo: 2, hi: 4, n: 1}
	var b costBook
	b.narrow(r, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 1, true)
	b.narrow(a, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 1, true)
	vote := func() { b.narrow(r, headers.Complexity, dearer, b.costOf(r, believed).Complexity, true) }
	vote()
	b.narrow(a, headers.Complexity, dearer, 1, true) // the neighbour in A's measurement
	vote()
	vote()
	require.Equal(t, int64(1), b.costOf(r, believed).Complexity, "the run was broken")
	vote()
	assert.Equal(t, int64(3), b.costOf(r, believed).Complexity, "three in a row since")

	// Held measurements through measure: one answer as a reference, then
	// one of route held that shows it 2 tokens dearer.
	held := func(b *costBook, route uint64) {
		remaining := int64(100)
		for i, clean := range []bool{true, false} {
			if i == 1 {
				remaining -= 3
			}
			b.measureAnswer(&[2]measurement{headers.Complexity: {
				tk:    Ticket{route: route, cost: believed, seq: uint64(i + 1)},
				ws:    headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: remaining},
				alone: true, clean: clean, rate: 200 / float64(time.Minute), others: true,
			}}, [2]bool{headers.Complexity: true})
		}
	}
	for _, aConfirmed := range []bool{true, false} {
		var b costBook
		b.narrow(r, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 1, true)
		if aConfirmed {
			b.narrow(a, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 1, true)
		}
		b.narrow(r, headers.Complexity, dearer, 1, true)
		held(&b, a)
		b.narrow(r, headers.Complexity, dearer, 1, true)
		b.narrow(r, headers.Complexity, dearer, 1, true)
		want := int64(3)
		if aConfirmed {
			want = 1
		}
		assert.Equal(t, want, b.costOf(r, believed).Complexity, "a held measurement of a route confirmed: %v", aConfirmed)
	}
}

// TestAnswerShowingBothKindsSpentMeasuresNoPrice: a call costs both kinds,
// so an answer whose window shows more spent than the call's price in
// requests and in complexity caught another consumer's call; it measures
// no price. The same answers showing complexity alone raise the price:
// that is what a price rise looks like.
func TestAnswerShowingBothKindsSpentMeasuresNoPrice(t *testing.T) {
	const route = 7
	believed := Cost{Requests: 1, Complexity: 1}
	for _, requestsToo := range []bool{true, false} {
		var b costBook
		levels := [2]int64{90, 180} // requests, complexity: Remaining
		answer := func(seq uint64, spent [2]int64) {
			var ms [2]measurement
			for k, limit := range [2]int64{100, 200} {
				levels[k] -= spent[k]
				ms[k] = measurement{
					tk:    Ticket{route: route, cost: believed, seq: seq},
					ws:    headers.WindowState{Window: headers.Minute, Limit: limit, Remaining: levels[k]},
					alone: true, clean: true, others: true, // no time passes: no refill
				}
			}
			b.measureAnswer(&ms, [2]bool{true, true})
		}
		answer(1, [2]int64{1, 1})
		answer(2, [2]int64{1, 1}) // confirms the price
		extra := [2]int64{1, 3}   // a price of 3 complexity...
		if requestsToo {
			extra[headers.Requests] = 2 // ... or the call and another's, of 1 request and 2 complexity
		}
		for seq := uint64(3); seq <= 8; seq++ {
			answer(seq, extra)
		}
		want := int64(3)
		if requestsToo {
			want = 1
			assert.Equal(t, int64(1), b.costOf(route, believed).Requests, "nor a request price")
			assert.NotZero(t, b.excess[headers.Complexity], "a sign of others' spending")
		}
		assert.Equal(t, want, b.costOf(route, believed).Complexity, "requests spent beyond the price too: %v", requestsToo)
	}
}

// TestMeasurementsAllowForTheOthersSpending: while another consumer is
// known to spend (here 1 complexity token a second), a measurement's
// window may hold its spending, so a measurement bounds the price only to
// what it shows beyond that. A route measured in complexity alone (the
// request bucket near full), each 2-second window catching the other's
// 2-token call, stays at its price; one whose calls do cost 5 is priced 5.
func TestMeasurementsAllowForTheOthersSpending(t *testing.T) {
	const route = 7
	believed := Cost{Requests: 1, Complexity: 1}
	for _, spent := range []int64{3, 5} { // the call and the other's 2, or a price of 5
		var b costBook
		remaining := int64(190)
		answer := func(i int, spent int64) {
			remaining -= spent
			at := time.Duration(i) * 2 * time.Second // answered as it is sent: a 2 s window
			b.measureAnswer(&[2]measurement{headers.Complexity: {
				tk:    Ticket{route: route, cost: believed, seq: uint64(i), at: at},
				ws:    headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: remaining},
				alone: true, clean: true, now: at, // no refill counted: rate 0
				others: true, othersRate: 1 / float64(time.Second),
			}}, [2]bool{headers.Complexity: true})
		}
		answer(1, 0)
		for i := 2; i <= 8; i++ {
			answer(i, spent)
		}
		want := spent
		if spent == 3 {
			want = 1
		}
		assert.Equal(t, want, b.costOf(route, believed).Complexity, "%d spent a window", spent)
	}
}
