// Package mock is an in-memory, stateful fake of the Mem API (api.mem.ai v2)
// that enforces Mem's published rate limits with its own leaky-bucket meter,
// and can inject faults, for testing clients offline.
//
// A Server is an http.Handler. Use it three ways:
//
//   - in-process, through (*Server).Client or (*Server).RoundTripper: no
//     sockets, so tests can run inside testing/synctest, where time (and so
//     the buckets' refill) is virtual;
//   - over loopback TCP with NewLoopback, in the manner of httptest.Server;
//   - as a standalone binary, cmd/memmock.
//
// Each configured API key (Authorization: Bearer KEY) has its own notes,
// collections, buckets and quota. Unknown or missing keys get 401 and are
// charged nothing. Every authenticated request is charged against the rate
// limits, even when its input is invalid (the real server meters what it
// receives, so a client must validate before sending); invalid input stores
// nothing.
//
// # Rate limits
//
// Four leaky buckets per key (see Limits): requests per minute and per day,
// complexity tokens per minute and per day. A call costs one request token
// and one complexity token, except POST /v2/mem-it, which costs
// Limits.MemItComplexity (40) complexity tokens; Limits.Costs prices any
// endpoint otherwise, including endpoints the mock does not serve (as if Mem
// had added them). Server.SetLimits and PUT /_mock/limits change the limits
// and the prices while the server runs, as Mem may: every bucket keeps its
// level (at most the new limit). A call is admitted only if
// every bucket holds its cost; then all four are charged. A refused call is
// charged nothing and answered 429 rate_limit_exceeded with Retry-After set
// to the whole seconds, rounded up, until it would fit.
//
// Every response to an authenticated request carries the X-RateLimit-* and
// X-Complexity-* headers for the most constrained window of each type, after
// the call's charge: the window with fewer whole tokens left, and on a tie
// the day window. Remaining is the floor of the bucket's level; Reset is the
// seconds until that window is full again, rounded up. 401 responses carry no
// rate headers, since no bucket is known.
//
// # Errors
//
// Errors use the envelope {"error":{"type","message","details"},"request_id"}
// (the ErrType* constants): malformed JSON or a bad page cursor is 400;
// missing or unknown key 401; unknown note, collection, snapshot or route
// 404; wrong method 405 (with an Allow header); duplicate id, stale version,
// or a write to a trashed note 409; a body over Config.MaxBodyBytes 413 (not
// read past the cap); wrong types, bad UUIDs, out-of-range parameters,
// over-size fields, timestamps without an offset or in the future 422; rate
// limits and the usage quota 429 (the quota body is the spec's
// UsageQuotaExceededPayload). Input is validated in full before anything is
// stored.
//
// # Admin API
//
// Requests under /_mock/ are not authenticated, metered or faulted; keys
// appear only redacted (see Key). Do not expose a mock to untrusted networks.
//
//	GET  /_mock/state        limits, the 429 count, and per key: bucket
//	                         levels, note and collection counts, quota used
//	POST /_mock/reset        Server.Reset
//	GET  /_mock/limits       the limits and cost table in force, as LimitsJSON
//	PUT  /_mock/limits       Server.SetLimits: the body's fields replace those
//	                         in force, the others stay; "costs", when
//	                         present, replaces the whole table
//	GET  /_mock/faults       the random faults, as FaultsJSON
//	PUT  /_mock/faults       replace them (a FaultsJSON body)
//	POST /_mock/faults/next  Server.FailNext: {"method","path","count","fault"}
//	                         with fault one of the Fault names ("reset", ...)
//	GET  /_mock/notes        {"notes":[...]}: every stored note, trashed ones
//	                         included, of the key named by Authorization
//	POST /_mock/spend        Server.Spend for the key named by Authorization:
//	                         {"requests":N,"complexity":N}
//	GET  /_mock/journal      {"entries":[Entry...],"count_429":n}
//
// Durations in admin JSON are Go duration strings ("250ms", "12s"). A body
// that is not exactly one JSON object of the endpoint's fields (an unknown or
// misspelled field, a value of the wrong type, trailing data) is refused with
// 400 invalid_request in the error envelope, and changes nothing.
//
// # Time
//
// The server reads the clock with time.Now and waits with timers, never with
// background goroutines, so inside a testing/synctest bubble all of it runs
// on virtual time. Create the Server inside the bubble it serves, as the
// client and its throttle: a bubble's clock starts in 2000, so a Server
// created outside would meter every call before its buckets' last update.
// It answers such calls with a 500 that says so, until Reset (or POST
// /_mock/reset) inside the bubble restarts its clocks there. Network puts a simulated network between a client and the
// in-process server (latency each way, with jitter and heavy tails, new
// connections' handshakes, sequential or concurrent processing), so a test
// can see calls metered out of send order and answered out of meter order,
// still on virtual time.
package mock
