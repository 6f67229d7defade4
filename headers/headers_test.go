package headers_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/headers"
)

// names lists each kind's four canonical header names: bucket, limit,
// remaining, reset.
var names = map[headers.Kind][4]string{
	headers.Requests:   {headers.RateLimitBucket, headers.RateLimitLimit, headers.RateLimitRemaining, headers.RateLimitReset},
	headers.Complexity: {headers.ComplexityBucket, headers.ComplexityLimit, headers.ComplexityRemaining, headers.ComplexityReset},
}

var kinds = []headers.Kind{headers.Requests, headers.Complexity}

var sentinels = []error{
	headers.ErrMissing, headers.ErrMalformed, headers.ErrNegative,
	headers.ErrOutOfRange, headers.ErrUnknownBucket, headers.ErrContradiction,
}

// set writes one kind's four values; an empty value leaves that header out.
func set(h http.Header, k headers.Kind, bucket, limit, remaining, reset string) {
	for i, v := range [4]string{bucket, limit, remaining, reset} {
		if v != "" {
			h.Set(names[k][i], v)
		}
	}
}

// valid is a well-formed header set: requests on the minute window,
// complexity on the day window.
func valid() http.Header {
	h := http.Header{}
	set(h, headers.Requests, "minute", "100", "42", "12")
	set(h, headers.Complexity, "day", "8000", "7960", "0.6")
	return h
}

// headerErrors flattens the *headers.Error values of an error tree (Parse
// nests errors.Join inside errors.Join).
func headerErrors(err error) []*headers.Error {
	if err == nil {
		return nil
	}
	if he, ok := err.(*headers.Error); ok {
		return []*headers.Error{he}
	}
	var out []*headers.Error
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, headerErrors(e)...)
		}
	case interface{ Unwrap() error }:
		out = append(out, headerErrors(u.Unwrap())...)
	}
	return out
}

// requireOneError asserts that err holds exactly one *headers.Error, naming
// header, wrapping want, and keeping value.
func requireOneError(t *testing.T, err error, header, value string, want error) {
	t.Helper()
	require.Error(t, err)
	var he *headers.Error
	require.ErrorAs(t, err, &he)
	all := headerErrors(err)
	require.Len(t, all, 1, "errors: %v", err)
	assert.Equal(t, header, all[0].Header)
	assert.Equal(t, value, all[0].Value)
	assert.ErrorIs(t, err, want)
	for _, s := range sentinels {
		if s != want {
			assert.NotErrorIs(t, err, s)
		}
	}
	assert.Contains(t, err.Error(), header)
}

func TestParseAllPresent(t *testing.T) {
	st, err := headers.Parse(valid())
	require.NoError(t, err)
	assert.Equal(t, headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 42, Reset: 12 * time.Second},
		Complexity: headers.WindowState{Window: headers.Day, Limit: 8000, Remaining: 7960, Reset: 600 * time.Millisecond},
	}, st)
	assert.True(t, st.Present())
	assert.True(t, st.Requests.Present())
	assert.Equal(t, st.Complexity, st.Of(headers.Complexity))
	assert.Equal(t, st.Requests, st.Of(headers.Requests))
}

func TestParseReset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"12", 12 * time.Second},
		{"0", 0},
		{"-0", 0},
		{"0.6", 600 * time.Millisecond},
		{".5", 500 * time.Millisecond},
		{"1.5e1", 15 * time.Second},
		{"+3", 3 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0.0000000001", time.Nanosecond}, // rounded up, never down to 0
		{"1e-400", 0},                     // underflows to 0
		{"34560000", headers.MaxReset},    // exactly the cap
	} {
		t.Run(tc.in, func(t *testing.T) {
			h := http.Header{}
			set(h, headers.Requests, "minute", "100", "1", tc.in)
			st, err := headers.Parse(h)
			require.NoError(t, err)
			assert.Equal(t, tc.want, st.Requests.Reset)
		})
	}
}

func TestParseEachKindAbsent(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		st, err := headers.Parse(http.Header{"Content-Type": {"application/json"}})
		require.NoError(t, err)
		assert.Equal(t, headers.Status{}, st)
		assert.False(t, st.Present())
	})
	t.Run("nil header", func(t *testing.T) {
		st, err := headers.Parse(nil)
		require.NoError(t, err)
		assert.False(t, st.Present())
	})
	t.Run("requests only", func(t *testing.T) {
		h := http.Header{}
		set(h, headers.Requests, "day", "4000", "3999", "21.6")
		st, err := headers.Parse(h)
		require.NoError(t, err)
		assert.Equal(t, headers.WindowState{Window: headers.Day, Limit: 4000, Remaining: 3999, Reset: 21600 * time.Millisecond}, st.Requests)
		assert.False(t, st.Complexity.Present())
		assert.Equal(t, headers.WindowState{}, st.Complexity)
	})
	t.Run("complexity only", func(t *testing.T) {
		h := http.Header{}
		set(h, headers.Complexity, "minute", "200", "160", "12")
		st, err := headers.Parse(h)
		require.NoError(t, err)
		assert.Equal(t, headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 160, Reset: 12 * time.Second}, st.Complexity)
		assert.False(t, st.Requests.Present())
		assert.True(t, st.Present())
	})
}

func TestParseHeaderNameCase(t *testing.T) {
	h := http.Header{}
	h.Set("x-ratelimit-bucket", "minute")
	h.Set("X-RATELIMIT-LIMIT", "100")
	h.Set("x-RateLimit-remaining", "99")
	h.Set("X-RateLimit-Reset", "0.6")
	h.Set("x-complexity-bucket", "day")
	h.Set("X-COMPLEXITY-LIMIT", "8000")
	h.Set("x-Complexity-Remaining", "1")
	h.Set("x-complexity-RESET", "3")
	st, err := headers.Parse(h)
	require.NoError(t, err)
	assert.Equal(t, headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 99, Reset: 600 * time.Millisecond}, st.Requests)
	assert.Equal(t, headers.WindowState{Window: headers.Day, Limit: 8000, Remaining: 1, Reset: 3 * time.Second}, st.Complexity)
}

func TestParseFirstValueWins(t *testing.T) {
	h := valid()
	h.Add(headers.RateLimitRemaining, "not a number")
	st, err := headers.Parse(h)
	require.NoError(t, err)
	assert.Equal(t, int64(42), st.Requests.Remaining)
}

// TestParseBadValue puts one bad value in one kind and checks that the other
// kind is still returned and the error names the bad header.
func TestParseBadValue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field int // 0 bucket, 1 limit, 2 remaining, 3 reset
		value string
		want  error
	}{
		{"unknown bucket", 0, "hour", headers.ErrUnknownBucket},
		{"plural bucket", 0, "minutes", headers.ErrUnknownBucket},
		{"empty bucket", 0, "", headers.ErrUnknownBucket},
		{"limit garbage", 1, "abc", headers.ErrMalformed},
		{"limit decimal", 1, "100.0", headers.ErrMalformed},
		{"limit hex", 1, "0x10", headers.ErrMalformed},
		{"limit underscore", 1, "1_000", headers.ErrMalformed},
		{"limit empty", 1, "", headers.ErrMalformed},
		{"limit negative", 1, "-1", headers.ErrNegative},
		{"limit overflow int64", 1, "9223372036854775808", headers.ErrOutOfRange},
		{"limit huge", 1, "99999999999999999999999999", headers.ErrOutOfRange},
		{"limit above 2^40", 1, "1099511627777", headers.ErrOutOfRange},
		{"remaining negative", 2, "-5", headers.ErrNegative},
		{"remaining overflow negative", 2, "-9223372036854775809", headers.ErrOutOfRange},
		{"remaining NaN", 2, "NaN", headers.ErrMalformed},
		{"remaining exceeds limit", 2, "101", headers.ErrContradiction},
		{"reset negative", 3, "-1", headers.ErrNegative},
		{"reset negative decimal", 3, "-0.5", headers.ErrNegative},
		{"reset NaN", 3, "NaN", headers.ErrMalformed},
		{"reset nan", 3, "nan", headers.ErrMalformed},
		{"reset Inf", 3, "Inf", headers.ErrMalformed},
		{"reset +Inf", 3, "+Inf", headers.ErrMalformed},
		{"reset -Infinity", 3, "-Infinity", headers.ErrMalformed},
		{"reset hex", 3, "0x10", headers.ErrMalformed},
		{"reset hex float", 3, "0x1p4", headers.ErrMalformed},
		{"reset underscore", 3, "1_0", headers.ErrMalformed},
		{"reset garbage", 3, "soon", headers.ErrMalformed},
		{"reset duration syntax", 3, "12s", headers.ErrMalformed},
		{"reset empty", 3, "", headers.ErrMalformed},
		{"reset beyond MaxReset", 3, "34560001", headers.ErrOutOfRange},
		{"reset float overflow", 3, "1e400", headers.ErrOutOfRange},
		{"reset huge integer", 3, "99999999999999999999999", headers.ErrOutOfRange},
	} {
		for _, bad := range kinds {
			good := headers.Complexity
			if bad == headers.Complexity {
				good = headers.Requests
			}
			t.Run(tc.name+"/"+bad.String(), func(t *testing.T) {
				vals := [4]string{"minute", "100", "50", "30"}
				vals[tc.field] = tc.value
				h := http.Header{}
				for i, v := range vals {
					h.Set(names[bad][i], v) // set even when empty: present but empty
				}
				set(h, good, "day", "4000", "3000", "0.6")

				st, err := headers.Parse(h)
				requireOneError(t, err, names[bad][tc.field], tc.value, tc.want)
				assert.Equal(t, headers.WindowState{}, st.Of(bad), "bad kind is reported absent")
				assert.Equal(t, headers.WindowState{Window: headers.Day, Limit: 4000, Remaining: 3000, Reset: 600 * time.Millisecond},
					st.Of(good), "good kind still parsed")
			})
		}
	}
}

func TestParseSeveralBadValues(t *testing.T) {
	h := http.Header{}
	set(h, headers.Requests, "week", "-1", "x", "NaN")
	set(h, headers.Complexity, "day", "10", "11", "1")
	st, err := headers.Parse(h)
	require.Error(t, err)
	assert.False(t, st.Present())
	got := map[string]error{}
	for _, he := range headerErrors(err) {
		got[he.Header] = he.Err
	}
	assert.Equal(t, map[string]error{
		headers.RateLimitBucket:     headers.ErrUnknownBucket,
		headers.RateLimitLimit:      headers.ErrNegative,
		headers.RateLimitRemaining:  headers.ErrMalformed,
		headers.RateLimitReset:      headers.ErrMalformed,
		headers.ComplexityRemaining: headers.ErrContradiction,
	}, got)
}

func TestParseRemainingEqualsLimit(t *testing.T) {
	h := http.Header{}
	set(h, headers.Requests, "minute", "100", "100", "0")
	set(h, headers.Complexity, "minute", "0", "0", "0")
	st, err := headers.Parse(h)
	require.NoError(t, err)
	assert.Equal(t, int64(100), st.Requests.Remaining)
	assert.Equal(t, headers.WindowState{Window: headers.Minute}, st.Complexity)
	assert.True(t, st.Complexity.Present())
}

func TestParseLargestCount(t *testing.T) {
	h := http.Header{}
	set(h, headers.Requests, "day", "1099511627776", "1099511627776", "1")
	st, err := headers.Parse(h)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<40), st.Requests.Limit)
}

func TestParsePartialGroup(t *testing.T) {
	for _, bad := range kinds {
		n := names[bad]
		for missing := 1; missing < 1<<4-1; missing++ { // every non-empty, non-full subset
			vals := [4]string{"minute", "100", "50", "30"}
			var wantMissing []string
			for i := range vals {
				if missing&(1<<i) != 0 {
					vals[i] = ""
					wantMissing = append(wantMissing, n[i])
				}
			}
			t.Run(bad.String()+"/"+strings.Join(wantMissing, "+"), func(t *testing.T) {
				h := http.Header{}
				set(h, bad, vals[0], vals[1], vals[2], vals[3])
				other := headers.Complexity
				if bad == headers.Complexity {
					other = headers.Requests
				}
				set(h, other, "minute", "200", "1", "12")

				st, err := headers.Parse(h)
				require.Error(t, err)
				assert.ErrorIs(t, err, headers.ErrMissing)
				var gotMissing []string
				for _, he := range headerErrors(err) {
					assert.ErrorIs(t, he, headers.ErrMissing)
					assert.Empty(t, he.Value)
					gotMissing = append(gotMissing, he.Header)
				}
				assert.Equal(t, wantMissing, gotMissing)
				assert.False(t, st.Of(bad).Present())
				assert.Equal(t, headers.WindowState{Window: headers.Minute, Limit: 200, Remaining: 1, Reset: 12 * time.Second}, st.Of(other))
			})
		}
	}
}

// TestParseBucketCase: the bucket name is matched case-insensitively (and
// trimmed) and normalised to the lower-case constant.
func TestParseBucketCase(t *testing.T) {
	for in, want := range map[string]headers.Window{
		"minute": headers.Minute, "Minute": headers.Minute, "MINUTE": headers.Minute, " minute\t": headers.Minute,
		"day": headers.Day, "Day": headers.Day, "DAY": headers.Day,
	} {
		t.Run(in, func(t *testing.T) {
			h := http.Header{}
			set(h, headers.Requests, in, "10", "5", "1")
			st, err := headers.Parse(h)
			require.NoError(t, err)
			assert.Equal(t, want, st.Requests.Window)
		})
	}
}

func TestParseHugeValueTruncated(t *testing.T) {
	garbage := strings.Repeat("garbage!", 10<<10/8) // 10 KB
	h := valid()
	h.Set(headers.ComplexityReset, garbage)
	st, err := headers.Parse(h)
	requireOneError(t, err, headers.ComplexityReset, garbage[:64], headers.ErrMalformed)
	assert.Less(t, len(err.Error()), 200, "the error message stays short")
	assert.True(t, st.Requests.Present())
	assert.False(t, st.Complexity.Present())
}

func TestParseTruncatedOnRuneBoundary(t *testing.T) {
	v := strings.Repeat("a", 63) + strings.Repeat("é", 100) // 'é' is 2 bytes: byte 64 is mid-rune
	h := http.Header{}
	set(h, headers.Requests, v, "1", "1", "1")
	_, err := headers.Parse(h)
	all := headerErrors(err)
	require.Len(t, all, 1)
	assert.Equal(t, strings.Repeat("a", 63), all[0].Value)
	assert.True(t, utf8.ValidString(all[0].Value))

	// Invalid UTF-8 still keeps (almost) all of its 64-byte prefix.
	v = strings.Repeat("\x80", 100)
	h.Set(headers.RateLimitBucket, v)
	_, err = headers.Parse(h)
	all = headerErrors(err)
	require.Len(t, all, 1)
	assert.Equal(t, v[:61], all[0].Value)
}

func TestErrorMessage(t *testing.T) {
	e := &headers.Error{Header: headers.RateLimitReset, Value: "x", Err: headers.ErrMalformed}
	assert.Equal(t, `headers: X-Ratelimit-Reset: "x": not a number`, e.Error())
	assert.Equal(t, headers.ErrMalformed, errors.Unwrap(e))
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "requests", headers.Requests.String())
	assert.Equal(t, "complexity", headers.Complexity.String())
	assert.Equal(t, "Kind(7)", headers.Kind(7).String())
}

func TestWriteParseRoundTrip(t *testing.T) {
	in := headers.Status{
		Requests:   headers.WindowState{Window: headers.Minute, Limit: 100, Remaining: 0, Reset: 600 * time.Millisecond},
		Complexity: headers.WindowState{Window: headers.Day, Limit: 8000, Remaining: 7960, Reset: 12 * time.Second},
	}
	h := http.Header{}
	in.Write(h)
	assert.Equal(t, http.Header{
		headers.RateLimitBucket:     {"minute"},
		headers.RateLimitLimit:      {"100"},
		headers.RateLimitRemaining:  {"0"},
		headers.RateLimitReset:      {"1"}, // 0.6 s rounded up
		headers.ComplexityBucket:    {"day"},
		headers.ComplexityLimit:     {"8000"},
		headers.ComplexityRemaining: {"7960"},
		headers.ComplexityReset:     {"12"},
	}, h)

	out, err := headers.Parse(h)
	require.NoError(t, err)
	want := in
	want.Requests.Reset = time.Second
	assert.Equal(t, want, out)
}

func TestWriteResetRounding(t *testing.T) {
	for _, tc := range []struct {
		reset time.Duration
		want  string
	}{
		{0, "0"},
		{-time.Second, "0"},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{59*time.Second + 400*time.Millisecond, "60"},
		{headers.MaxReset, "34560000"},
		{math.MaxInt64, "9223372037"}, // no overflow into a negative count
	} {
		h := http.Header{}
		headers.Status{Requests: headers.WindowState{Window: headers.Minute, Limit: 1, Reset: tc.reset}}.Write(h)
		assert.Equal(t, tc.want, h.Get(headers.RateLimitReset), "Reset %v", tc.reset)
	}
}

func TestWriteAbsentKindsUntouched(t *testing.T) {
	h := http.Header{}
	set(h, headers.Complexity, "minute", "old", "old", "old")
	h.Set("Content-Type", "application/json")
	headers.Status{Requests: headers.WindowState{Window: headers.Day, Limit: 4000, Remaining: 4000, Reset: 0}}.Write(h)
	assert.Equal(t, http.Header{
		headers.RateLimitBucket:     {"day"},
		headers.RateLimitLimit:      {"4000"},
		headers.RateLimitRemaining:  {"4000"},
		headers.RateLimitReset:      {"0"},
		headers.ComplexityBucket:    {"minute"},
		headers.ComplexityLimit:     {"old"},
		headers.ComplexityRemaining: {"old"},
		headers.ComplexityReset:     {"old"},
		"Content-Type":              {"application/json"},
	}, h)

	// Present kinds replace what was there.
	h2 := valid()
	h2.Add(headers.RateLimitLimit, "second value")
	headers.Status{Requests: headers.WindowState{Window: headers.Minute, Limit: 5, Remaining: 4, Reset: time.Second}}.Write(h2)
	assert.Equal(t, []string{"5"}, h2.Values(headers.RateLimitLimit))
	assert.Equal(t, []string{"8000"}, h2.Values(headers.ComplexityLimit))

	// An empty status writes nothing.
	h3 := http.Header{}
	headers.Status{}.Write(h3)
	assert.Empty(t, h3)
}

// now is a fixed instant with a fraction of a second: Tuesday 9 December
// 2025, 10:00:00.25 UTC.
var now = time.Date(2025, 12, 9, 10, 0, 0, 250_000_000, time.UTC)

func retryAfter(v string) http.Header { return http.Header{headers.RetryAfter: {v}} }

func TestParseRetryAfterAbsent(t *testing.T) {
	wait, present, err := headers.ParseRetryAfter(http.Header{}, now)
	require.NoError(t, err)
	assert.False(t, present)
	assert.Zero(t, wait)

	wait, present, err = headers.ParseRetryAfter(nil, now)
	require.NoError(t, err)
	assert.False(t, present)
	assert.Zero(t, wait)
}

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"12", 12 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{" 3 ", 3 * time.Second},
		{"+2", 2 * time.Second},
		{".25", 250 * time.Millisecond},
		{"-0", 0},
		{"86400", 24 * time.Hour},
		{"34560000", headers.MaxRetryAfter},
		// HTTP-date, all three forms of RFC 9110 §5.6.7, relative to now.
		{"Tue, 09 Dec 2025 10:00:30 GMT", 29750 * time.Millisecond},   // IMF-fixdate
		{"Tuesday, 09-Dec-25 10:01:00 GMT", 59750 * time.Millisecond}, // RFC 850
		{"Tue Dec  9 10:02:00 2025", 119750 * time.Millisecond},       // ANSI C asctime
		{"Wed, 10 Dec 2025 10:00:00 GMT", 24*time.Hour - 250*time.Millisecond},
		// In the past, or now: no wait.
		{"Tue, 09 Dec 2025 09:59:00 GMT", 0},
		{"Tue, 09 Dec 2025 10:00:00 GMT", 0},
		{"Monday, 01-Jan-01 00:00:00 GMT", 0},
		{"Thu Jan  1 00:00:00 1970", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			wait, present, err := headers.ParseRetryAfter(retryAfter(tc.in), now)
			require.NoError(t, err)
			assert.True(t, present)
			assert.Equal(t, tc.want, wait)
		})
	}
}

func TestParseRetryAfterCaseInsensitiveName(t *testing.T) {
	h := http.Header{}
	h.Set("retry-after", "7")
	wait, present, err := headers.ParseRetryAfter(h, now)
	require.NoError(t, err)
	assert.True(t, present)
	assert.Equal(t, 7*time.Second, wait)
}

func TestParseRetryAfterBad(t *testing.T) {
	long := strings.Repeat("9", 10<<10)
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"negative", "-1", headers.ErrNegative},
		{"negative decimal", "-0.5", headers.ErrNegative},
		{"empty", "", headers.ErrMalformed},
		{"garbage", "soon", headers.ErrMalformed},
		{"unit", "12s", headers.ErrMalformed},
		{"NaN", "NaN", headers.ErrMalformed},
		{"Inf", "Inf", headers.ErrMalformed},
		{"+Inf", "+Inf", headers.ErrMalformed},
		{"hex", "0x10", headers.ErrMalformed},
		{"underscore", "1_0", headers.ErrMalformed},
		{"two numbers", "1 2", headers.ErrMalformed},
		{"beyond MaxRetryAfter", "34560001", headers.ErrOutOfRange},
		{"float overflow", "1e999", headers.ErrOutOfRange},
		{"10 KB of digits", long, headers.ErrOutOfRange},
		{"date without zone", "Tue, 09 Dec 2025 10:00:30", headers.ErrMalformed},
		{"ISO date", "2025-12-09T10:00:30Z", headers.ErrMalformed},
		{"date beyond MaxRetryAfter", "Sat, 01 Jan 2028 00:00:00 GMT", headers.ErrOutOfRange},
		{"date at year 9999", "Fri, 31 Dec 9999 23:59:59 GMT", headers.ErrOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, present, err := headers.ParseRetryAfter(retryAfter(tc.in), now)
			assert.True(t, present)
			assert.Zero(t, wait)
			var want string
			if len(tc.in) > 64 {
				want = tc.in[:64]
			} else {
				want = strings.TrimSpace(tc.in)
			}
			requireOneError(t, err, headers.RetryAfter, want, tc.want)
		})
	}
}

func TestSetRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "1"},
		{0, "1"},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{1500 * time.Millisecond, "2"},
		{12 * time.Second, "12"},
		{headers.MaxRetryAfter, "34560000"},
		{math.MaxInt64, "9223372037"}, // no overflow into a negative count
	} {
		h := http.Header{}
		headers.SetRetryAfter(h, tc.d)
		assert.Equal(t, []string{tc.want}, h.Values(headers.RetryAfter), "d=%v", tc.d)
	}
}

func TestSetRetryAfterDate(t *testing.T) {
	h := http.Header{}
	headers.SetRetryAfterDate(h, now, 30*time.Second)
	assert.Equal(t, "Tue, 09 Dec 2025 10:00:31 GMT", h.Get(headers.RetryAfter)) // 10:00:30.25 rounded up

	whole := time.Date(2025, 12, 9, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	headers.SetRetryAfterDate(h, whole, 2*time.Second)
	assert.Equal(t, "Tue, 09 Dec 2025 09:00:02 GMT", h.Get(headers.RetryAfter)) // already whole, written in GMT
}

func TestRetryAfterRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{
		time.Nanosecond, 250 * time.Millisecond, 750 * time.Millisecond, time.Second,
		1500 * time.Millisecond, 12 * time.Second, 12*time.Second + 1, time.Hour,
		3 * 24 * time.Hour, headers.MaxRetryAfter - time.Second,
	} {
		t.Run(d.String(), func(t *testing.T) {
			h := http.Header{}
			headers.SetRetryAfter(h, d)
			wait, present, err := headers.ParseRetryAfter(h, now)
			require.NoError(t, err)
			require.True(t, present)
			assert.GreaterOrEqual(t, wait, d)
			assert.Less(t, wait, d+time.Second)
			assert.Zero(t, wait%time.Second, "delta-seconds are whole")

			h = http.Header{}
			headers.SetRetryAfterDate(h, now, d)
			wait, present, err = headers.ParseRetryAfter(h, now)
			require.NoError(t, err)
			require.True(t, present)
			assert.GreaterOrEqual(t, wait, d)
			assert.Less(t, wait, d+time.Second)
		})
	}

	// Delta-seconds ask for at least a second, even for no wait.
	h := http.Header{}
	headers.SetRetryAfter(h, 0)
	wait, _, err := headers.ParseRetryAfter(h, now)
	require.NoError(t, err)
	assert.Equal(t, time.Second, wait)

	// The date form of no wait is now (rounded up): at most a second.
	h = http.Header{}
	headers.SetRetryAfterDate(h, now, 0)
	wait, _, err = headers.ParseRetryAfter(h, now)
	require.NoError(t, err)
	assert.Equal(t, 750*time.Millisecond, wait)
}

// FuzzParse feeds arbitrary values to the eight rate-limit headers (an empty
// string leaves a header out) and to Retry-After, and checks the invariants
// every caller relies on. Its seed corpus runs as a normal test.
func FuzzParse(f *testing.F) {
	huge := strings.Repeat("9", 10<<10)
	for _, s := range [][9]string{
		{"minute", "100", "42", "12", "day", "8000", "7960", "0.6", "12"},
		{"day", "4000", "0", "1.5e1", "minute", "200", "200", "0", "1.5"},
		{"Minute", "100", "100", "0", "DAY", "1", "1", "34560000", "0"},
		{"", "", "", "", "", "", "", "", ""},
		{"minute", "100", "", "", "", "", "", "3", ""},
		{"hour", "-1", "NaN", "Inf", "minute", "10", "11", "-0.5", "-1"},
		{"minute", "0x10", "1_0", "0x1p4", "day", "9223372036854775808", "1", "1e400", "0x10"},
		{"day", "1099511627776", "1099511627776", "34560001", "day", "1099511627777", "0", "1e-400", "34560001"},
		{"minute", "1", "1", huge, "day", huge, "1", "1", huge},
		{"minute", "5", "2", "+Inf", "minute", "5", "2", "nan", "Tue, 09 Dec 2025 10:00:30 GMT"},
		{"minute", "5", "2", "-0", "minute", "+5", "-0", ".5", "Tuesday, 09-Dec-25 10:01:00 GMT"},
		{"minute", "5", "2", "1", "minute", "5", "2", "1", "Tue Dec  9 10:02:00 2025"},
		{"minute", "5", "2", "1", "minute", "5", "2", "1", "Tue, 09 Dec 2025 09:59:00 GMT"},
		{"minute", "5", "2", "1", "minute", "5", "2", "1", "Sat, 01 Jan 2028 00:00:00 GMT"},
		{"minute", "5", "2", "1", "minute", "5", "2", "1", "Fri, 31 Dec 9999 23:59:59 GMT"},
		{" minute ", " 5 ", "\t2", "1 ", "d\x00ay", "5", "2", "1", "\xff"},
		{"minute", "5", "2", "0.0000000001", "day", "5", "2", "34559999.9999999999", "34559999.5"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8])
	}

	f.Fuzz(func(t *testing.T, rb, rl, rr, rs, cb, cl, cr, cs, ra string) {
		in := map[headers.Kind][4]string{
			headers.Requests:   {rb, rl, rr, rs},
			headers.Complexity: {cb, cl, cr, cs},
		}
		h := http.Header{}
		for _, k := range kinds {
			v := in[k]
			set(h, k, v[0], v[1], v[2], v[3])
		}
		if ra != "" {
			h.Set(headers.RetryAfter, ra)
		}

		st, err := headers.Parse(h)

		// Every error is an *headers.Error naming one of the eight headers,
		// with a bounded value and a known reason.
		named := map[headers.Kind]bool{}
		for _, he := range headerErrors(err) {
			require.LessOrEqual(t, len(he.Value), 64)
			known := false
			for _, s := range sentinels {
				known = known || he.Err == s
			}
			require.True(t, known, "unknown reason %v", he.Err)
			found := false
			for _, k := range kinds {
				for _, n := range names[k] {
					if he.Header == n {
						named[k], found = true, true
					}
				}
			}
			require.True(t, found, "error names %q", he.Header)
		}
		if err != nil {
			require.NotEmpty(t, headerErrors(err), "error %v carries no *headers.Error", err)
		}

		for _, k := range kinds {
			w := st.Of(k)
			v := in[k]
			allAbsent := v == [4]string{}
			allSet := v[0] != "" && v[1] != "" && v[2] != "" && v[3] != ""
			switch {
			case allAbsent:
				require.False(t, named[k], "%v: absent kind reported an error", k)
				require.Equal(t, headers.WindowState{}, w)
			case named[k]:
				require.Equal(t, headers.WindowState{}, w, "%v: a kind with an error is reported absent", k)
			default:
				require.True(t, allSet, "%v: partial group without ErrMissing", k)
				require.True(t, w.Present(), "%v: no error but absent", k)
			}
			if !w.Present() {
				continue
			}
			require.Contains(t, []headers.Window{headers.Minute, headers.Day}, w.Window)
			require.GreaterOrEqual(t, w.Remaining, int64(0))
			require.LessOrEqual(t, w.Remaining, w.Limit)
			require.GreaterOrEqual(t, w.Reset, time.Duration(0))
			require.LessOrEqual(t, w.Reset, headers.MaxReset)
		}

		// Write back and parse again: the same state, Reset rounded up to
		// whole seconds. Kinds absent from st keep their headers.
		h2 := h.Clone()
		st.Write(h2)
		for _, k := range kinds {
			if !st.Of(k).Present() {
				for _, n := range names[k] {
					require.Equal(t, h[n], h2[n], "absent kind's %s was touched", n)
				}
			}
		}
		h3 := http.Header{}
		st.Write(h3)
		st2, err := headers.Parse(h3)
		require.NoError(t, err)
		for _, k := range kinds {
			a, b := st.Of(k), st2.Of(k)
			require.Equal(t, a.Window, b.Window)
			require.Equal(t, a.Limit, b.Limit)
			require.Equal(t, a.Remaining, b.Remaining)
			require.GreaterOrEqual(t, b.Reset, a.Reset)
			require.Less(t, b.Reset-a.Reset, time.Second)
			require.Zero(t, b.Reset%time.Second)
		}

		// Retry-After: never negative, never beyond the cap; an error means
		// no wait.
		wait, present, err := headers.ParseRetryAfter(h, now)
		require.Equal(t, ra != "", present)
		require.GreaterOrEqual(t, wait, time.Duration(0))
		require.LessOrEqual(t, wait, headers.MaxRetryAfter)
		if err != nil {
			require.Zero(t, wait)
			all := headerErrors(err)
			require.Len(t, all, 1)
			assert.Equal(t, headers.RetryAfter, all[0].Header)
			require.LessOrEqual(t, len(all[0].Value), 64)
			return
		}
		if !present {
			return
		}
		// What was parsed survives being written back in either form.
		h4 := http.Header{}
		headers.SetRetryAfter(h4, wait)
		w4, _, err := headers.ParseRetryAfter(h4, now)
		require.NoError(t, err)
		require.GreaterOrEqual(t, w4, max(wait, time.Second))
		require.Less(t, w4, max(wait, time.Second)+time.Second)
		if wait <= headers.MaxRetryAfter-time.Second { // the date form rounds up by < 1 s
			h5 := http.Header{}
			headers.SetRetryAfterDate(h5, now, wait)
			w5, _, err := headers.ParseRetryAfter(h5, now)
			require.NoError(t, err)
			require.GreaterOrEqual(t, w5, wait)
			require.Less(t, w5, wait+time.Second)
		}
	})
}
