package throttle

import (
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/stretchr/testify/assert"
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
	d.observe(headers.Complexity, 0, at(1), at(1), true, 199, complexityMinute)
	for s := 3.0; s <= 41; s += 2 { // 20 s of a full bucket: nothing shows
		d.observe(headers.Complexity, 0, at(s), at(s), true, 199, complexityMinute)
	}
	d.observe(headers.Complexity, 0, at(43), at(43), true, 20, complexityMinute) // drawn down
	for s := 45.0; s <= 55; s += 2 {
		d.observe(headers.Complexity, 2, at(s), at(s), true, 20, complexityMinute)
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
	d.observe(headers.Complexity, 0, at(0), at(0), true, 20, complexityMinute)
	for s := 2.0; s <= 20; s += 2 {
		d.observe(headers.Complexity, 2, at(s), at(s), true, 20, complexityMinute)
	}
	before := d.reserve(at(32)).Complexity // 12 s since the last bounded answer
	for s := 32.0; s <= 32.5; s += 0.1 {   // a burst answered with calls in flight
		d.observe(headers.Complexity, 0, at(s), at(s), false, 20, complexityMinute)
	}
	assert.GreaterOrEqual(t, d.reserve(at(32.5)).Complexity, before, "no answer of the burst closes the gap")
	d.observe(headers.Complexity, 12, at(33), at(33), true, 8, complexityMinute)
	assert.Less(t, d.reserve(at(33)).Complexity, before, "a bounded answer does")
}

// TestPriceRisesOnThreeMeasurementsWithAnotherConsumer: two measurements
// that agree on a higher price raise it, unless another consumer is known
// to spend on the key, whose calls land in some measurements at random:
// then it takes three.
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
