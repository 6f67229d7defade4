package throttle

import (
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// complexityMinute is the bucket W4's neighbour draws on: 200 a minute.
var complexityMinute = Bucket{Kind: headers.Complexity, Window: headers.Minute, Limit: 200, Period: time.Minute}

// TestDriftCountsOnlyWhatTheBucketCanShow: another consumer spends 2 tokens
// every 2 s. While the bucket sits full its spending costs nothing and no
// answer shows it; once the bucket is drawn down, every 2 s shows 2 tokens.
// The rate must be the one that holds when it matters (1 a second), not
// diluted by the time the bucket was full: a mem-it waiting 12 s with the
// bucket low finds 12 tokens gone, and a reserve of a third of that meets a
// 429.
func TestDriftCountsOnlyWhatTheBucketCanShow(t *testing.T) {
	d := newDrift(DefaultPolicy())
	at := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	d.observe(headers.Complexity, 0, 0, at(1), at(1), true, 199, complexityMinute)
	for s := 3.0; s <= 41; s += 2 { // 20 s of a full bucket: nothing shows
		d.observe(headers.Complexity, 0, 0, at(s), at(s), true, 199, complexityMinute)
	}
	d.observe(headers.Complexity, 0, 0, at(43), at(43), true, 20, complexityMinute) // drawn down
	for s := 45.0; s <= 55; s += 2 {
		d.observe(headers.Complexity, 0, 2, at(s), at(s), true, 20, complexityMinute)
	}
	got := d.reserve(at(55) + 12*time.Second)
	assert.GreaterOrEqual(t, got.Complexity, int64(12), "12 s at 1 token a second, and the burst")
	assert.LessOrEqual(t, got.Complexity, int64(16))
}

// TestDriftReserveGrowsUntilABoundedAnswer: an answer read while other
// calls are in flight cannot tell whether they were metered before it, so
// it does not show what the other consumer spent in a gap; the reserve
// keeps counting the gap from the last answer read with nothing else in
// flight, however many such answers come.
func TestDriftReserveGrowsUntilABoundedAnswer(t *testing.T) {
	d := newDrift(DefaultPolicy())
	at := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	d.observe(headers.Complexity, 0, 0, at(0), at(0), true, 20, complexityMinute)
	for s := 2.0; s <= 20; s += 2 {
		d.observe(headers.Complexity, 0, 2, at(s), at(s), true, 20, complexityMinute)
	}
	before := d.reserve(at(32)).Complexity // 12 s since the last bounded answer
	for s := 32.0; s <= 32.5; s += 0.1 {   // a burst answered with calls in flight
		d.observe(headers.Complexity, 0, 0, at(s), at(s), false, 20, complexityMinute)
	}
	assert.GreaterOrEqual(t, d.reserve(at(32.5)).Complexity, before, "no answer of the burst closes the gap")
	d.observe(headers.Complexity, 0, 12, at(33), at(33), true, 8, complexityMinute)
	assert.Less(t, d.reserve(at(33)).Complexity, before, "a bounded answer does")
}

// TestDriftKnowsWhetherOneRouteProvedIt: a route's own underpricing is
// learned as drift, proved by that route's answers only; another
// consumer's spending shows in every route's. Answers that move nothing
// prove nothing, and an estimate that is forgotten forgets its source.
func TestDriftKnowsWhetherOneRouteProvedIt(t *testing.T) {
	const memIt, notes = 7, 9
	at := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	d := newDrift(DefaultPolicy())
	d.observe(headers.Complexity, memIt, 0, at(0), at(0), true, 20, complexityMinute)
	d.observe(headers.Complexity, notes, 0, at(1), at(1), true, 20, complexityMinute) // moves nothing
	d.observe(headers.Complexity, memIt, 20, at(18), at(18), true, 20, complexityMinute)
	d.observe(headers.Complexity, memIt, 20, at(36), at(36), true, 20, complexityMinute)
	assert.True(t, d.provedOnlyBy(headers.Complexity, memIt))
	assert.False(t, d.provedOnlyBy(headers.Complexity, notes))
	assert.False(t, d.provedOnlyBy(headers.Requests, memIt), "no proof of requests")

	d.observe(headers.Complexity, notes, 2, at(38), at(38), true, 20, complexityMinute)
	assert.False(t, d.provedOnlyBy(headers.Complexity, memIt), "another route's answer proved spending too")

	d.forget(headers.Complexity)
	d.observe(headers.Complexity, memIt, 20, at(54), at(54), true, 20, complexityMinute)
	assert.True(t, d.provedOnlyBy(headers.Complexity, memIt), "forgotten, then proved by one route again")
	d.observe(headers.Complexity, 0, 2, at(56), at(56), true, 20, complexityMinute)
	assert.False(t, d.provedOnlyBy(headers.Complexity, memIt), "a call of unknown route may be anyone's")
}

// TestPriceRisesOnThreeMeasurementsWithAnotherConsumer: two measurements
// that agree on a higher price raise it, unless another consumer is known
// to spend on the key, whose calls land in some measurements at random:
// then it takes three in a row that each show it.
func TestPriceRisesOnThreeMeasurementsWithAnotherConsumer(t *testing.T) {
	three := interval{lo: 2, hi: 4, n: 1} // the call cost 3
	for _, tc := range []struct {
		others bool
		rises  int // measurements until the price is 3
	}{{false, 2}, {true, 3}} {
		var b costBook
		for i := 1; i <= 3; i++ {
			b.narrow(7, headers.Complexity, three, b.costOf(7, Cost{Requests: 1, Complexity: 1}).Complexity, tc.others)
			want := int64(1)
			if i >= tc.rises {
				want = 3
			}
			assert.Equal(t, want, b.costOf(7, Cost{Requests: 1, Complexity: 1}).Complexity, "others %v, after %d measurements", tc.others, i)
		}
	}
	var b costBook // a fall needs two, others or not
	for range 2 {
		b.narrow(7, headers.Complexity, interval{lo: 0, hi: 2, n: 1}, 5, true)
	}
	assert.Equal(t, int64(1), b.costOf(7, Cost{Requests: 1, Complexity: 5}).Complexity)
}

// TestRefusalTakesThePriceTheMeasurementsPointTo: measurements that agree
// on a rise while another consumer is known (too few to raise the price),
// then a 429 that proves the call costs more than believed: the price is
// the one the measurements allow, not the refusal's own high guess (the
// Remaining it showed plus the refill until Retry-After), which no later
// measurement may come to correct.
func TestRefusalTakesThePriceTheMeasurementsPointTo(t *testing.T) {
	const route = 7
	believed := Cost{Requests: 1, Complexity: 1}
	var b costBook
	for range 2 {
		b.narrow(route, headers.Complexity, interval{lo: 9, hi: 11, n: 1}, 1, true) // it cost 10
	}
	require.Equal(t, int64(1), b.costOf(route, believed).Complexity, "two do not raise it with another consumer")
	st := headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 90},
		Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 9},
	}
	rate := [2]float64{100 / float64(time.Minute), 200 / float64(time.Minute)}
	b.refused(Ticket{route: route, cost: believed}, st, time.Second, rate, Cost{Requests: 100, Complexity: 200})
	assert.Equal(t, int64(10), b.costOf(route, believed).Complexity)

	var fresh costBook // with no measurement, the refusal's bound: 9 + 1 + 3.3
	fresh.refused(Ticket{route: route, cost: believed}, st, time.Second, rate, Cost{Requests: 100, Complexity: 200})
	assert.Equal(t, int64(13), fresh.costOf(route, believed).Complexity)
}
