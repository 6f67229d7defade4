package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// PackInts packs xs as the scripts receive their integer arguments.
func PackInts(xs ...int64) []byte {
	var p payload
	p.add(xs...)
	return p.b
}

// flightRecordScript returns the record of calls in flight, the state's
// tenth element (see the scripts), or nothing if there is no state.
var flightRecordScript = redis.NewScript(`
local st = redis.call('GET', KEYS[1])
if not st then return {} end
return cmsgpack.unpack(st)[10]
`)

// addFlightScript sets in the record of calls in flight the entry
// ARGV[1..4] (id, expiry, requests, complexity), in place of the store's
// entry if it has one, as another store's exchange would.
var addFlightScript = redis.NewScript(`
local v = cmsgpack.unpack(redis.call('GET', KEYS[1]))
local FL, id = v[10], tonumber(ARGV[1])
local j = #FL + 1
for k = 1, #FL, 4 do if FL[k] == id then j = k end end
for k = 1, 4 do FL[j + k - 1] = tonumber(ARGV[k]) end
redis.call('SET', KEYS[1], cmsgpack.pack(v), 'KEEPTTL')
return 1
`)

// FlightRecord returns the record of calls in flight on the key under tag
// (see HashTag): per store, its id, expiry (µs on Redis's clock), requests
// and complexity in flight.
func FlightRecord(ctx context.Context, c redis.Scripter, tag string) ([][4]int64, error) {
	v, err := flightRecordScript.Run(ctx, c, []string{tag + ":state"}).Int64Slice()
	var out [][4]int64
	for k := 0; k+3 < len(v); k += 4 {
		out = append(out, [4]int64{v[k], v[k+1], v[k+2], v[k+3]})
	}
	return out, err
}

// SetFlightEntry sets the entry of store id in the record of calls in
// flight on the key under tag, expiring at expiry (µs on Redis's clock).
func SetFlightEntry(ctx context.Context, c redis.Scripter, tag string, id, expiry, requests, complexity int64) error {
	return addFlightScript.Run(ctx, c, []string{tag + ":state"}, id, expiry, requests, complexity).Err()
}
