// Command importer is the multi-process tests' worker: it creates notes
// through memclient on one API key, with its throttle's state in Redis
// (redisstore), and prints a JSON summary on stdout. Several run at once
// against one mock server; see ../../multiprocess_test.go.
//
//	importer -url http://127.0.0.1:PORT -key KEY -redis 127.0.0.1:6379 \
//	    -proc 0 -n 100 -conc 4 -share 0.25 -minute 1s -day 24s
//
// Note ids are derived from (-proc, index), so a rerun or a retry never
// creates a note twice, and the test can tell that none is missing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/memsdk/mem-go/headers"
	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
)

// Summary is what the importer prints.
type Summary struct {
	Proc        int     `json:"proc"`
	Created     int64   `json:"created"`
	Existed     int64   `json:"existed"` // 409: created by an earlier attempt
	Failures    int64   `json:"failures"`
	Admitted    uint64  `json:"admitted"`     // calls the throttle let through
	RateLimited uint64  `json:"rate_limited"` // rate-limit 429s the throttle saw
	Fallbacks   uint64  `json:"fallbacks"`
	Returns     uint64  `json:"returns"`
	RedisErrors uint64  `json:"redis_errors"`
	SlowestMS   float64 `json:"slowest_ms"` // slowest answered Redis call
	Seconds     float64 `json:"seconds"`
}

// NoteID is the id of note i of process proc.
func NoteID(proc, i int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "redisstore-import/%d/%d", proc, i)).String()
}

func main() {
	url := flag.String("url", "", "Mem API base URL")
	key := flag.String("key", "", "API key")
	addr := flag.String("redis", "", "Redis address")
	proc := flag.Int("proc", 0, "this process's index")
	n := flag.Int("n", 100, "notes to create")
	conc := flag.Int("conc", 4, "concurrent calls")
	share := flag.Float64("share", 1, "share of the budget while Redis is out of reach")
	minute := flag.Duration("minute", time.Minute, "period of the minute windows")
	day := flag.Duration("day", 24*time.Hour, "period of the day windows")
	timeout := flag.Duration("timeout", redisstore.DefaultTimeout, "per Redis call")
	flag.Parse()

	p := throttle.DefaultPolicy()
	for i := range p.Buckets {
		if p.Buckets[i].Window == headers.Minute {
			p.Buckets[i].Period = *minute
		} else {
			p.Buckets[i].Period = *day
		}
	}
	rdb := redis.NewClient(&redis.Options{
		Addr: *addr, MaxRetries: -1, ContextTimeoutEnabled: true,
		DialTimeout: *timeout, ReadTimeout: *timeout, WriteTimeout: *timeout,
	})
	defer rdb.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	store, err := redisstore.New(rdb, *key, p, redisstore.Options{Share: *share, Timeout: *timeout, Logger: log})
	check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	check(store.Preload(ctx))
	cancel()
	th, err := throttle.New(p, throttle.WithStore(store))
	check(err)
	c, err := memclient.New(memclient.WithAPIKey(*key), memclient.WithBaseURL(*url), memclient.WithThrottle(th))
	check(err)

	var sum Summary
	sum.Proc = *proc
	var created, existed, failures atomic.Int64
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			for i := range jobs {
				req := &memclient.CreateNoteRequest{ID: NoteID(*proc, i), Content: fmt.Sprintf("Note %d of process %d\nimported", i, *proc)}
				for attempt := 0; ; attempt++ {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					_, _, err := c.Notes.Create(ctx, req)
					cancel()
					var conflict *memclient.ConflictError
					switch {
					case err == nil:
						created.Add(1)
					case errors.As(err, &conflict):
						existed.Add(1)
					case attempt < 20:
						log.Warn("importer: retrying", "note", i, "err", err)
						time.Sleep(100 * time.Millisecond)
						continue
					default:
						log.Error("importer: giving up", "note", i, "err", err)
						failures.Add(1)
					}
					break
				}
			}
		})
	}
	for i := range *n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	sum.Seconds = time.Since(start).Seconds()
	sum.Created, sum.Existed, sum.Failures = created.Load(), existed.Load(), failures.Load()
	stats := th.Snapshot().Stats
	sum.Admitted, sum.RateLimited = stats.Admitted, stats.RateLimited
	st := store.Stats()
	sum.Fallbacks, sum.Returns, sum.RedisErrors = st.Fallbacks, st.Returns, st.Errors
	sum.SlowestMS = float64(st.Slowest) / float64(time.Millisecond)
	check(json.NewEncoder(os.Stdout).Encode(sum))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "importer:", err)
		os.Exit(1)
	}
}
