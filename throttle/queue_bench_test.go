package throttle

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/internal/cputime"
	"golang.org/x/time/rate"
)

// queueSizes are the queue lengths the queue benchmarks compare.
var queueSizes = []int{10, 100, 1_000, 10_000, 100_000}

// fastPolicy is Mem's shape at 60,000 times its speed (a minute lasts a
// millisecond), with day buckets no benchmark drains: a queue of 100,000
// calls drains in about a second.
func fastPolicy() Policy { return spedUp(60_000) }

// spedUp is Mem's shape at speed times its speed, with day buckets no
// benchmark drains.
func spedUp(speed int) Policy {
	p := DefaultPolicy()
	for i, b := range p.Buckets {
		if b.Window == headers.Day {
			p.Buckets[i].Limit = 1_000_000_000
			continue
		}
		p.Buckets[i].Period = b.Period / time.Duration(speed)
	}
	return p
}

// BenchmarkQueue measures the CPU each admitted call costs when n callers
// wait: the minute buckets are drained, 1% of the callers are mem-its at the
// head of the line (they wait for complexity tokens while the cheap calls
// behind them backfill the request tokens), and every call is completed
// with Done. cpu-ns/call is the process's user and system CPU over the
// drain, divided by n; BenchmarkQueueXTimeRate is the same load on
// x/time/rate limiters.
func BenchmarkQueue(b *testing.B) {
	for _, n := range queueSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var cpu time.Duration
			var waits uint64
			for b.Loop() {
				c, w := drainQueue(b, fastPolicy(), n)
				cpu, waits = cpu+c, waits+w
			}
			if waits < uint64(b.N*n/2) { // a queue refilled before its callers came
				b.Fatalf("%d of %d calls waited: the benchmark measures no queue", waits, b.N*n)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/call")
		})
	}
}

// drainQueue runs one drain of n callers and returns the CPU it took and
// how many calls waited.
func drainQueue(b *testing.B, p Policy, n int) (time.Duration, uint64) {
	th := newSynced(b, p)
	ctx := context.Background()
	drainMinute(th)
	start := cputime.Process(b)
	var wg sync.WaitGroup
	call := func(c Cost) {
		tk, err := th.Wait(ctx, c)
		if err != nil {
			b.Error(err)
			return
		}
		th.Done(tk, Outcome{})
	}
	memIts := n / 100
	admitted := th.Snapshot().Stats.Admitted
	for range memIts {
		wg.Go(func() { call(memIt) })
	}
	for s := th.Snapshot(); s.Queued+int(s.Stats.Admitted-admitted) < memIts; s = th.Snapshot() { // the mem-its hold the head of the line
		time.Sleep(10 * time.Microsecond)
	}
	for range n - memIts {
		wg.Go(func() { call(plain) })
	}
	wg.Wait()
	return cputime.Process(b) - start, th.Snapshot().Stats.Waits
}

// queueSpeeds are the speeds, in times Mem's, at which
// BenchmarkQueueSpeeds drains 10,000 callers: from tokens every 10 µs,
// faster than this machine hands a wake from one goroutine to the next
// (each admitted call wakes the next head), to every 100 µs.
var queueSpeeds = []int{60_000, 20_000, 6_000}

// BenchmarkQueueSpeeds is BenchmarkQueue's load with 10,000 callers at
// several speeds: at 60,000 times Mem's speed (BenchmarkQueue's) the
// throttle cannot keep up with the tokens; slower, the drain takes as long
// as the tokens do, as with a real server. BenchmarkQueueSpeedsXTimeRate
// is the same on x/time/rate.
func BenchmarkQueueSpeeds(b *testing.B) {
	for _, speed := range queueSpeeds {
		b.Run(fmt.Sprintf("speed=%dx", speed), func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				c, _ := drainQueue(b, spedUp(speed), 10_000)
				cpu += c
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*10_000), "cpu-ns/call")
		})
	}
}

// BenchmarkQueueSpeedsXTimeRate is BenchmarkQueueSpeeds on x/time/rate.
func BenchmarkQueueSpeedsXTimeRate(b *testing.B) {
	for _, speed := range queueSpeeds {
		b.Run(fmt.Sprintf("speed=%dx", speed), func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				cpu += drainXTimeRate(b, spedUp(speed), 10_000)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*10_000), "cpu-ns/call")
		})
	}
}

// drainMinute empties th's minute buckets. (Taking the policy's limit is
// not enough: after newSynced's resync the buckets hold one token less, the
// take is refused, and the benchmark's small queues never wait.)
func drainMinute(th *Throttle) {
	th.mu.Lock()
	defer th.mu.Unlock()
	now := th.now()
	for i := range th.mem.buckets {
		if th.mem.defs[i].Window == headers.Minute {
			th.mem.buckets[i].advance(now)
			th.mem.buckets[i].set(0)
		}
	}
}

// BenchmarkQueueXTimeRate is BenchmarkQueue's load on x/time/rate: one
// limiter per minute bucket, drained, and each caller reserving both and
// sleeping out the longer delay, as a careful user would write it.
func BenchmarkQueueXTimeRate(b *testing.B) {
	for _, n := range queueSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				cpu += drainXTimeRate(b, fastPolicy(), n)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/call")
		})
	}
}

func drainXTimeRate(b *testing.B, p Policy, n int) time.Duration {
	var minute []*rate.Limiter
	for _, bk := range p.Buckets {
		if bk.Window == headers.Minute {
			l := rate.NewLimiter(rate.Limit(float64(bk.Limit)/bk.Period.Seconds()), int(bk.Limit))
			l.ReserveN(time.Now(), int(bk.Limit)) // drained
			minute = append(minute, l)
		}
	}
	start := cputime.Process(b)
	var wg sync.WaitGroup
	call := func(c Cost) {
		now := time.Now()
		requests := minute[0].ReserveN(now, int(c.Requests))
		complexity := minute[1].ReserveN(now, int(c.Complexity))
		time.Sleep(max(requests.DelayFrom(now), complexity.DelayFrom(now)))
	}
	for i := range n {
		c := plain
		if i < n/100 {
			c = memIt
		}
		wg.Go(func() { call(c) })
	}
	wg.Wait()
	return cputime.Process(b) - start
}
