package redisstore

// PackInts packs xs as the scripts receive their integer arguments.
func PackInts(xs ...int64) []byte {
	var p payload
	p.add(xs...)
	return p.b
}
