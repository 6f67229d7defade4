package memclient

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPagesStopsOnRepeatedCursorAndErrors(t *testing.T) {
	fetched := []string{}
	loop := pages(func(page string) ([]int, string, error) {
		fetched = append(fetched, page)
		return []int{len(fetched)}, "same", nil // a server that repeats itself
	}, "")
	var got []int
	for v, err := range loop {
		require.NoError(t, err)
		got = append(got, v)
	}
	assert.Equal(t, []int{1, 2}, got)
	assert.Equal(t, []string{"", "same"}, fetched)

	boom := errors.New("boom")
	n := 0
	for _, err := range pages(func(string) ([]int, string, error) { return nil, "", boom }, "") {
		assert.ErrorIs(t, err, boom)
		n++
	}
	assert.Equal(t, 1, n)
}

// FuzzDecodeAPIError feeds arbitrary bodies to the error decoder: it must
// never panic, and a body that is neither envelope is kept.
func FuzzDecodeAPIError(f *testing.F) {
	for _, s := range []string{
		`{"error":{"type":"not_found","message":"m","details":{"id":"x"}}}`,
		`{"error_category":"CLIENT_ERROR","error_metadata":{"error_kind":"NOT_AUTHORIZED","message":"m","request_id":null}}`,
		quotaBody, `{"error":null}`, `{"error":"text"}`, `[]`, `null`, ``, `<html>`,
		`{"error":{"type":"quota_exceeded","details":{"used":"many","limit":-1,"upgrade_info":7}}}`,
	} {
		f.Add(429, s)
		f.Add(404, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"3"}}}
		api := decodeAPIError("GET", "/v2/notes", resp, []byte(body))
		if api.Type == "" && api.Category == "" && len(body) <= maxErrorBody {
			assert.Equal(t, body, string(api.Body))
		}
		_ = api.Error()
		_ = typedError(api, resp, time.Now()).Error()
	})
}
