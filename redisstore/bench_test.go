package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
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
			markSynced(b, store) // no cold start: no response will end it here
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

// BenchmarkExchange measures one Store.Exchange in Redis on loopback (one
// round trip), with its allocations: "reservation" admits one call, as a
// throttle's lane does for a lone caller; "answer+reservation" also
// applies an answer with two readings, as when a caller's Done and the
// next caller's Wait share a round trip. The context never ends, as the
// throttle's lane's (one that may end costs a context of its own a call).
// It reports the time Redis ran the script, by Redis's own count.
//
//	go test -run '^$' -bench Exchange -benchmem .
func BenchmarkExchange(b *testing.B) {
	p := throttle.DefaultPolicy()
	for i := range p.Buckets { // never short
		p.Buckets[i].Limit = 1_000_000_000
	}
	rs := startRedis(b)
	cost := throttle.Cost{Requests: 1, Complexity: 40}
	for _, withAnswer := range []bool{false, true} {
		name := "reservation"
		if withAnswer {
			name = "answer+reservation"
		}
		b.Run(name, func(b *testing.B) {
			c := rs.Client(b)
			s, err := redisstore.New(c, "bench-exchange-"+name, p, redisstore.Options{Share: 1, Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			markSynced(b, s) // and the first call opens a connection and loads the script
			x := &throttle.Exchange{
				Admit:  throttle.Admission{Calls: make([]throttle.Call, 1), Room: bigRoom},
				Levels: make([]float64, len(p.Buckets)),
			}
			if withAnswer {
				x.Answers = []throttle.Answer{{
					Cost: cost, Inflight: cost,
					Readings: []throttle.BucketReading{
						{Kind: headers.Requests, Window: headers.Minute, Reading: throttle.Reading{Floor: 1e8, Ceil: 1e8 + 1, Slack: time.Millisecond}},
						{Kind: headers.Complexity, Window: headers.Minute, Reading: throttle.Reading{Floor: 1e8, Ceil: 1e8 + 1, Slack: time.Millisecond}},
					},
					Moved:  make([]throttle.Moved, 2),
					Synced: true,
				}}
			}
			b.ReportAllocs()
			resetScriptTime(b, c)
			for b.Loop() {
				x.Admit.Calls[0] = throttle.Call{Cost: cost}
				if err := s.Exchange(context.Background(), 0, x); err != nil || !x.Admit.Calls[0].Admitted {
					b.Fatalf("not admitted: %v", err)
				}
			}
			b.ReportMetric(scriptTime(b, c).Seconds()*1e6/float64(b.N), "script-µs/op")
			if st := s.Stats(); st.Errors > 0 || !st.OnRedis {
				b.Fatalf("Redis calls failed: %+v", st)
			}
		})
	}
}

// resetScriptTime zeroes Redis's count of the time its scripts ran (the
// server is the benchmark's own).
func resetScriptTime(b *testing.B, c *redis.Client) {
	if err := c.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// scriptTime returns how long Redis ran scripts (EVALSHA, by its own
// INFO commandstats) since resetScriptTime.
func scriptTime(b *testing.B, c *redis.Client) time.Duration {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`cmdstat_evalsha:calls=\d+,usec=(\d+)`).FindStringSubmatch(info)
	if m == nil {
		b.Fatalf("no script time in %q", info)
	}
	us, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(us) * time.Microsecond
}

// BenchmarkThroughput runs Wait and Done (no response) through a Throttle
// on redisstore, on loopback, from 1 and from 16 goroutines, and reports
// the calls per second, the Redis round trips per call and the time Redis
// ran scripts per call (by its own count): with many callers, the
// throttle's lane puts their reservations and answers into shared round
// trips.
//
//	go test -run '^$' -bench Throughput -benchtime 20000x .
func BenchmarkThroughput(b *testing.B) {
	p := throttle.DefaultPolicy()
	for i := range p.Buckets { // never short: this measures the round trips, not waits
		p.Buckets[i].Limit = 1_000_000_000
	}
	rs := startRedis(b)
	cost := throttle.Cost{Requests: 1, Complexity: 1}
	for _, bc := range []struct {
		goroutines int
		answer     string
	}{{1, "none"}, {1, "headers"}, {16, "none"}, {16, "headers"}} {
		goroutines := bc.goroutines
		outcome := throttle.Outcome{}
		if bc.answer == "headers" { // a 200 with Mem's rate headers: every answer carries readings
			outcome = throttle.Outcome{Responded: true, StatusCode: 200, Header: http.Header{}}
			headers.Status{
				Requests:   headers.WindowState{Window: headers.Minute, Limit: p.Buckets[0].Limit, Remaining: p.Buckets[0].Limit - 1},
				Complexity: headers.WindowState{Window: headers.Minute, Limit: p.Buckets[2].Limit, Remaining: p.Buckets[2].Limit - 1},
			}.Write(outcome.Header)
		}
		b.Run(fmt.Sprintf("goroutines=%d/answer=%s", goroutines, bc.answer), func(b *testing.B) {
			c := rs.Client(b)
			s, err := redisstore.New(c, fmt.Sprintf("bench-throughput-%d-%s", goroutines, bc.answer), p, redisstore.Options{Share: 1, Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			markSynced(b, s)
			th, err := throttle.New(p, throttle.WithStore(s))
			if err != nil {
				b.Fatal(err)
			}
			trips := s.Stats().Calls
			resetScriptTime(b, c)
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range goroutines {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						tk, err := th.Wait(context.Background(), cost)
						if err != nil {
							b.Error(err)
							return
						}
						th.Done(tk, outcome)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
			b.ReportMetric(float64(s.Stats().Calls-trips)/float64(b.N), "trips/call")
			b.ReportMetric(scriptTime(b, c).Seconds()*1e6/float64(b.N), "script-µs/call")
			if st := s.Stats(); st.Errors > 0 || !st.OnRedis {
				b.Fatalf("Redis calls failed: %+v", st)
			}
		})
	}
}
