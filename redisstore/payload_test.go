package redisstore_test

import (
	"testing"

	"github.com/memsdk/mem-go/redisstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scripts read their integer arguments with Redis's own cmsgpack: every
// encoding the store writes (fixints, int 64) comes back exact, up to the
// 2^53 that Lua's doubles hold.
func TestPackedIntegersReachTheScriptsExactly(t *testing.T) {
	c := startRedis(t).Client(t)
	for _, xs := range [][]int64{
		{},
		{0},
		{0, 1, 127, 128, 255, 256, -1, -32, -33, -128, -129, 1 << 31, -(1 << 31), 1<<32 + 7, 1 << 52, 1<<53 - 1, -(1<<53 - 1)},
	} {
		got, err := c.Eval(t.Context(), "return cmsgpack.unpack(ARGV[1])", nil, redisstore.PackInts(xs...)).Int64Slice()
		require.NoError(t, err)
		if len(xs) == 0 {
			assert.Empty(t, got)
			continue
		}
		assert.Equal(t, xs, got)
	}
}
