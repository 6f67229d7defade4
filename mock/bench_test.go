package mock

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// benchLimits keeps the buckets out of the way of a benchmark.
var benchLimits = Limits{
	RequestsPerMinute: 1 << 30, RequestsPerDay: 1 << 24,
	ComplexityPerMinute: 1 << 30, ComplexityPerDay: 1 << 24,
}

// load drives GET url from 4×GOMAXPROCS goroutines over one keep-alive
// client and reports requests per second.
func load(b *testing.B, c *http.Client, url string) {
	b.Helper()
	b.SetParallelism(4)
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+DefaultKey)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func benchClient(hs *httptest.Server) *http.Client {
	c := hs.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	return c
}

// BenchmarkGetNote compares GET /v2/notes/{id} on the mock over loopback
// with a bare net/http handler returning the same bytes and headers, driven
// by the same load generator.
func BenchmarkGetNote(b *testing.B) {
	lb, err := NewLoopback(Config{Limits: benchLimits})
	if err != nil {
		b.Fatal(err)
	}
	defer lb.Close()
	c := benchClient(lb.hs)
	req, _ := http.NewRequest("POST", lb.URL+"/v2/notes", strings.NewReader(`{"content":"# Sales call\n\nAcme wants the enterprise plan. Follow up next week."}`))
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatal(err, resp)
	}
	resp.Body.Close()
	id := lb.Notes(DefaultKey)[0].ID
	url := lb.URL + "/v2/notes/" + id

	// Capture one response to replay from the bare handler.
	req, _ = http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	resp, err = c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	hdr := resp.Header.Clone()
	hdr.Del("Date")

	b.Run("mock", func(b *testing.B) { load(b, c, url) })
	b.Run("bare", func(b *testing.B) {
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for k, v := range hdr {
				h[k] = v
			}
			_, _ = w.Write(body)
		}))
		defer bare.Close()
		load(b, benchClient(bare), bare.URL+"/v2/notes/"+id)
	})
}

// BenchmarkNoteMemory reports the heap held per stored note of 1 KiB of
// content.
func BenchmarkNoteMemory(b *testing.B) {
	const n = 20000
	content := strings.Repeat("x", 1024)
	for range b.N {
		s := MustNew(Config{Limits: benchLimits})
		ks := s.keys[DefaultKey]
		c := &call{s: s, ks: ks, now: time.Now()}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			// A fresh copy per note, as a decoded request body would be.
			c.insert(uuid.NewString(), strings.Clone(content), c.now, c.now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/note")
		b.ReportMetric(float64(len(content)), "content-B")
		runtime.KeepAlive(s)
	}
}
