package headers_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/memsdk/mem-go/headers"
)

func ExampleParse() {
	h := http.Header{}
	h.Set("X-RateLimit-Bucket", "minute")
	h.Set("X-RateLimit-Limit", "100")
	h.Set("X-RateLimit-Remaining", "42")
	h.Set("X-RateLimit-Reset", "0.6")
	h.Set("X-Complexity-Bucket", "day")
	h.Set("X-Complexity-Limit", "8000")
	h.Set("X-Complexity-Remaining", "9000") // more than the limit
	h.Set("X-Complexity-Reset", "12")

	st, err := headers.Parse(h)
	r := st.Requests
	fmt.Printf("requests: %s window, %d of %d left, full in %v\n", r.Window, r.Remaining, r.Limit, r.Reset)
	fmt.Println("complexity present:", st.Complexity.Present())

	var he *headers.Error
	if errors.As(err, &he) {
		fmt.Println(he.Header, he.Value, errors.Is(err, headers.ErrContradiction))
	}

	// Written back, Reset is rounded up to whole seconds.
	out := http.Header{}
	st.Write(out)
	fmt.Println(out.Get("X-RateLimit-Reset"))
	// Output:
	// requests: minute window, 42 of 100 left, full in 600ms
	// complexity present: false
	// X-Complexity-Remaining 9000 true
	// 1
}

func ExampleParseRetryAfter() {
	now := time.Date(2025, 12, 9, 10, 0, 0, 0, time.UTC)

	for _, v := range []string{
		"12",
		"1.5",
		"Tue, 09 Dec 2025 10:01:00 GMT",
		"Tue, 09 Dec 2025 09:00:00 GMT", // in the past
		"-3",
	} {
		h := http.Header{}
		h.Set("Retry-After", v)
		wait, present, err := headers.ParseRetryAfter(h, now)
		fmt.Println(wait, present, err)
	}

	h := http.Header{}
	headers.SetRetryAfter(h, 1500*time.Millisecond)
	fmt.Println(h.Get("Retry-After"))
	// Output:
	// 12s true <nil>
	// 1.5s true <nil>
	// 1m0s true <nil>
	// 0s true <nil>
	// 0s true headers: Retry-After: "-3": negative
	// 2
}
