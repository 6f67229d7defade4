package redisstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
)

// BenchmarkReservation measures one reservation of all four buckets through
// a Throttle (Wait on the fast path, then Done without a response, which
// settles the call: with Redis, a second round trip), with the state in
// this process and in Redis on loopback, and reports the 50th and 99th
// percentiles of the Wait's latency.
//
//	go test -run '^$' -bench Reservation .
func BenchmarkReservation(b *testing.B) {
	p := throttle.DefaultPolicy()
	for i := range p.Buckets { // never short: this measures the round trip, not waits
		p.Buckets[i].Limit = 1_000_000_000
	}
	rs := startRedis(b)
	stores := []struct {
		name string
		new  func() throttle.Store
	}{
		{"memory", func() throttle.Store { return throttle.NewMemoryStore(p) }},
		{"redis", func() throttle.Store {
			s, err := redisstore.New(rs.Client(b), "bench-key", p, redisstore.Options{Share: 1, Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	cost := throttle.Cost{Requests: 1, Complexity: 40}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store := st.new()
			store.MarkSynced() // no cold start: no response will end it here
			th, err := throttle.New(p, throttle.WithStore(store))
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, 1<<16)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				tk, err := th.Wait(b.Context(), cost)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				th.Done(tk, throttle.Outcome{})
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
			for _, s := range th.Snapshot().Buckets {
				if s.Kind == headers.Complexity && s.Level < 0 {
					b.Fatal("a bucket ran short")
				}
			}
		})
	}
}

// BenchmarkTake measures one Store.Take in Redis on loopback (one round
// trip, the cost taken), with its allocations.
//
//	go test -run '^$' -bench Take -benchmem .
func BenchmarkTake(b *testing.B) {
	p := throttle.DefaultPolicy()
	for i := range p.Buckets { // never short
		p.Buckets[i].Limit = 1_000_000_000
	}
	rs := startRedis(b)
	s, err := redisstore.New(rs.Client(b), "bench-take", p, redisstore.Options{Share: 1, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	s.MarkSynced()
	cost := throttle.Cost{Requests: 1, Complexity: 40}
	if s.Take(0, cost, throttle.Cost{}, false) != 0 { // the first call opens a connection and loads the script
		b.Fatal("a bucket ran short")
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Take(0, cost, throttle.Cost{}, false) != 0 {
			b.Fatal("a bucket ran short")
		}
	}
	if st := s.Stats(); st.Errors > 0 || !st.OnRedis {
		b.Fatalf("Redis calls failed: %+v", st)
	}
}
