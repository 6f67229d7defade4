package throttle

import (
	"context"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"golang.org/x/time/rate"
)

// roomyPolicy has Mem's shape with limits no benchmark can exhaust, so that
// every reservation takes the fast path.
func roomyPolicy() Policy {
	p := DefaultPolicy()
	for i := range p.Buckets {
		p.Buckets[i].Limit = 1_000_000_000
	}
	return p
}

// BenchmarkReserve is one reservation of a call's whole cost (four buckets)
// on the uncontended fast path: the same work as BenchmarkReserveXTimeRate.
func BenchmarkReserve(b *testing.B) {
	th := newSynced(b, roomyPolicy())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := th.Wait(ctx, plain); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReserveAndDone is a reservation and its completion without a
// response (the throttle's whole cost per call, headers apart).
func BenchmarkReserveAndDone(b *testing.B) {
	th := newSynced(b, roomyPolicy())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tk, err := th.Wait(ctx, plain)
		if err != nil {
			b.Fatal(err)
		}
		th.Done(tk, Outcome{})
	}
}

// BenchmarkReserveXTimeRate is the same work with four x/time/rate limiters,
// one ReserveN each, as a careful user would write it (no resync, no FIFO
// across buckets, no all-or-nothing).
func BenchmarkReserveXTimeRate(b *testing.B) {
	limiters := fourLimiters()
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		for _, l := range limiters {
			if r := l.ReserveN(now, 1); !r.OK() {
				b.Fatal("refused")
			}
		}
	}
}

func BenchmarkReserveParallel(b *testing.B) {
	th := newSynced(b, roomyPolicy())
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := th.Wait(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkReserveXTimeRateParallel(b *testing.B) {
	limiters := fourLimiters()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			for _, l := range limiters {
				l.ReserveN(now, 1)
			}
		}
	})
}

func fourLimiters() []*rate.Limiter {
	var ls []*rate.Limiter
	for _, bk := range roomyPolicy().Buckets {
		ls = append(ls, rate.NewLimiter(rate.Limit(float64(bk.Limit)/bk.Period.Seconds()), int(bk.Limit)))
	}
	return ls
}

// BenchmarkDoneWithHeaders is the response side: parse the headers, resync.
func BenchmarkDoneWithHeaders(b *testing.B) {
	th := newSynced(b, roomyPolicy())
	ctx := context.Background()
	h := rateHeader(99)
	headers.Status{Complexity: headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 150}}.Write(h)
	b.ReportAllocs()
	for b.Loop() {
		tk, _ := th.Wait(ctx, plain)
		th.Done(tk, Outcome{Responded: true, StatusCode: 200, Header: h})
	}
}
