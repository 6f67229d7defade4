// Package redisstore is a throttle.Store kept in Redis, so that several
// processes (on one machine or many) that use one Mem API key share one
// mirror of the key's four buckets, one 429 pause and one cold start, and
// together stay inside the limits that the server applies to the key.
//
// It is a module of its own (github.com/memsdk/mem-go/redisstore), so that
// the core module does not depend on go-redis. Select it with one option:
//
//	store, err := redisstore.New(rdb, apiKey, policy, redisstore.Options{Share: 1.0 / 4})
//	th, err := throttle.New(policy, throttle.WithStore(store))
//	client, err := memclient.New(memclient.WithThrottle(th))
//
// # How
//
// A Throttle hands its store one Exchange at a time: the answers that came
// in, tokens to give back, and a whole wake of its queue (the head and up
// to 64 calls after it). Store.Exchange is one Lua script, run atomically
// by Redis on its own clock (TIME, in microseconds; the callers' clocks are
// never used), whatever the exchange carries; Store.State is another, read
// only. The script checks each call's whole cost vector against all four
// buckets and charges it, all or nothing, or charges nothing and returns
// the wait, by the rules of throttle.Admission. The bucket math is
// throttle's, exactly, in integers: with
// g = gcd(L, P in µs), one token is q = P/g units and a bucket refills r = L/g
// units a microsecond; every number stays below 2^53 (New checks), so Lua's
// doubles hold it exactly.
//
// A key's state is three Redis keys under one hash tag, "{mem:" + the first
// 16 hex digits of the API key's SHA-256 + "}" (see HashTag), so it works on
// Redis Cluster; the API key is never sent to Redis. ":state" is a string,
// a MessagePack array (read and written whole by each script): the
// policy's fingerprint, the synced flag (cold start is over), the
// pause-until time, each bucket's level and time, and each Store's calls
// in flight (a random id per Store, its request and complexity tokens in
// flight and when the entry expires); ":queue" and ":waiters" are the
// shared queue. Every write renews a TTL of twice the longest period plus
// a minute: an idle key's state expires when its buckets would be full anyway.
// All processes on a key must use the same policy; a Store whose policy
// differs from the one stored refuses the shared state and stays in fallback
// (and says so in the log).
//
// # What is guaranteed while Redis answers
//
//   - The calls admitted by all Stores on the key, together, never exceed
//     what the four buckets hold: capacity plus refill, on Redis's clock.
//     This is the server's own law, so as long as nothing else spends on
//     the key, no call is refused with a 429. Tested with 64 concurrent
//     reservers (exactly the calls that fit pass) and with 4 OS processes
//     importing through memclient against the mock: no 429.
//   - Fairness: a Throttle queues its callers by priority, then FIFO, and
//     the Store holds its head's place in a queue shared by all Stores on
//     the key, from the first exchange in which the head has to wait until
//     the head is admitted. A call is admitted only when no other Store's
//     place is ahead of its own (or, for a Store without a place, when the
//     queue is empty); it waits for the costs of the places ahead to be
//     taken, in order. So processes' heads are served in the order they
//     started waiting, and no call of another process passes a waiting
//     head: a costly mem-it is not overtaken by another process's stream
//     of cheap calls, which wait behind it. Only its own Throttle's later
//     calls may pass it, within the Throttle's bound (see
//     throttle.Throttle.Wait), in the same exchange as the head's try:
//     they pass or wait behind the same places as the head, and neither
//     give up the head's place nor change the cost (the head's, with its
//     headroom) that the other processes see for it. A head admitted gives
//     the place up, and the next call of the same exchange that has to
//     wait takes a new one, behind the places taken meanwhile. A place is
//     dropped 1 s after its holder was due to come back (a process that
//     died, or whose caller gave up): a vanished waiter delays the others
//     by at most its wait plus 1 s.
//   - When a response comes in, its call leaves flight: the server charged
//     it somewhere between its send and the answer, and a bucket the server
//     held full earned no refill before the call arrived, whereas Redis
//     charged it at admission and refilled from then on. So each bucket is
//     held to at most its limit less the calls in flight of every Store on
//     the key (each Store records its own in Redis at each exchange: what
//     its Throttle has in flight after its answers, plus what the exchange
//     admitted). The other Stores' calls lower that limit down to zero, no
//     further, and a Store's record counts for a minute after its last
//     exchange, so that a process that died stops holding the others back
//     (while it counts, it costs them at most its calls' tokens, at answers
//     near full only).
//   - A response's rate headers resync the shared levels, but only
//     downwards: a Throttle's target subtracts only its own calls in
//     flight, so raising to it would count again the tokens held by other
//     processes' calls in flight. The shared level may therefore stay a
//     little below the server's (a call reserved that never reached the
//     server) until the bucket refills to full.
//   - A rate-limit 429 seen by any process pauses every process until
//     Retry-After. Cold start is global: while no response with rate
//     headers has told the levels, one call passes on the whole key (and
//     another only 2 s later, if that call brought no headers); the first
//     such response ends the cold start for every process.
//   - Cost: an exchange is one round trip (about 0.1 ms on loopback; see
//     the benchmarks), whatever it carries: the answers of every response
//     that came in meanwhile, the tokens to give back, and a whole wake of
//     the queue, the headroom each call must leave included. The Throttle
//     makes them from a goroutine of its own, without its lock, one at a
//     time, and puts into each what came in during the one before: a lone
//     caller costs one round trip to reserve and one to answer, but a busy
//     process shares them (16 goroutines on loopback: about a quarter of a
//     round trip a call, and several times the calls a second of one
//     goroutine). Snapshot and Estimate read the state with a round trip of
//     their own, and never wait for an exchange under way. Adopt makes none.
//
// # Priorities across processes
//
// A Throttle orders its own waiting calls by priority (throttle.WithPriority),
// bounds their starvation and keeps its reserve (throttle.WithReserve) as
// documented there. The Store sees costs, not priorities, so across
// processes the shared queue alone decides, with one place per process
// whose head is waiting, served in the order the places were queued:
//
//   - A process's place belongs to whichever call is its head. An
//     interactive call that arrives while the process's batch head waits
//     becomes the head at once and takes over the place where it stands
//     (the others then wait for its cost, not the batch call's). When it
//     passes, the place is given up: the process's next head queues anew,
//     behind the places queued meanwhile.
//   - So an interactive call waits behind the places queued before its
//     process's (none if its process's place is first): one call per other
//     process whose head is waiting, each until that head passes (which its
//     own Throttle's later calls may delay, within the bound of
//     throttle.Throttle.Wait), then for its own cost. It does not wait for
//     the rest of their queues: their next heads queue behind its place. At
//     Mem's limits, behind an import of plain notes, that is at most one
//     request token's refill (0.6 s) more than on one Throttle; behind a
//     waiting mem-it, up to twice its 12 s.
//   - Priorities are not compared across processes: a batch head whose place
//     was queued first goes before another process's interactive call, and
//     the starvation bound applies within a process only (no process
//     starves another: places are served in order).
//   - A reserve belongs to its process: it is held from New, and renewed
//     only by that process's interactive calls. While held, the process's
//     waiting head asks for its cost plus the reserve, and its place makes
//     the other processes wait for both: an interactive call of another
//     process then waits the reserve's refill longer, not shorter. A
//     reserve leaves room for other processes' calls only while its process
//     has no call waiting (between bursts).
//
// Measured with two Throttles on one Redis (the tests of this package), on
// empty buckets refilling 100 tokens a second: behind another process's
// batch head of 30 tokens, an interactive call of 10 waited 0.39 to 0.40 s
// (the rest of that head's 0.3 s, then its own 0.1 s), and went before
// that process's other batch calls; the same calls on one Throttle let the
// interactive call go first, after 0.1 s. On a key holding 10 tokens, with
// a batch call of 20 waiting in the other process, an interactive call of
// 5 was told to wait the refill of 25 tokens when that process held a
// reserve of 10 (its head's 20 and the reserve, then the call's 5), against
// 15 when it held none; on one Throttle with that reserve, it went at once.
//
// So make the calls that must be ordered on one Throttle, in one process:
// an import and the foreground work that must go before it. Do not set
// WithReserve in a process that makes no interactive calls to keep room
// for other processes: it delays their interactive calls instead.
//
// # What happens when Redis does not answer
//
// No Store method waits on Redis longer than Options.Timeout (100 ms by
// default; 1 s until Redis has answered a first call, see Preload), even if
// the client ignores context deadlines. The first exchange that fails or
// times out is applied to a local budget instead, returns an error (which
// the Throttle counts in Stats.StoreErrors; the exchange's results are
// valid all the same), switches the Store to that budget and logs one
// warning; later exchanges do not touch Redis, except one probe per
// Options.ProbeInterval (1 s), which costs at most one Timeout (and returns
// an error when it fails). State never switches: when Redis does not
// answer it returns an error. Give the client ContextTimeoutEnabled (a
// *redis.Client or *redis.ClusterClient, its read and write timeouts not
// disabled): it then puts each call's deadline on the connection, and the
// call runs on the caller's goroutine with no context of its own. Any
// other client's calls run each on a goroutine of its own, which the
// store leaves behind when it does not answer in time.
//
//   - The local budget is a throttle memory store whose buckets refill at
//     Share of each limit's rate and hold Share of its capacity (but never
//     less than the largest cost of a call, so a mem-it can pass). It
//     starts from Share of the levels that this process's last exchange
//     saw in Redis (empty if none did), in cold start (one call at a time
//     until a response tells the levels), with the last pause this process
//     knew. Responses lower it, never raise it, to Share of the server's
//     Remaining less this process's other calls in flight. (Raising would
//     discount only Share of those calls: four processes at a quarter each
//     overshot by a few calls and met 429s.)
//   - So when every process on the key is cut off, and their shares add up
//     to at most 1, together they spend no faster than the server refills,
//     from no more than the shared levels held: no limit is exceeded (up
//     to the reservations made between the last levels a process saw and
//     the moment it was cut off, at most a few calls). (Where a share of a capacity is
//     below the largest cost, a process idle for a long time may burst
//     that one cost.)
//   - When only some processes are cut off, the others, still on Redis,
//     learn what the cut-off ones spend only from the server's headers: a
//     few 429s are possible. Each is handled as usual (every caller of that
//     process pauses until Retry-After, the call is retried by memclient);
//     nothing is lost.
//
// # Coming back
//
// When a probe answers, Redis opens a recovery window of ProbeInterval plus
// three Timeouts (1.15 s by default), unless one is open. During it, every
// reservation through Redis waits (as under a pause) and the processes that
// were cut off keep spending their local shares: so those still cut off,
// which probe within the window, never overlap with processes spending the
// shared budget at full rate. Shortly before it closes (a Timeout and
// 50 ms), each process charges Redis with what it spent locally (so the
// shared levels count it, before anyone reserves again), but not below
// zero: while nobody reserved from Redis its buckets refilled only up to
// full, while the server's refill went on being spent, so a debt would
// count spending twice; and the local budgets, which start from their
// shares of the shared levels and spend no more than that plus their
// shares of the refill, leave the server at least zero. Then it logs one
// info line and uses Redis again. The window holds even the processes that
// were never cut off. (go-redis itself may refuse to dial for up to a
// second after repeated dial errors, which delays the probe that long.)
//
// If Redis lost the state (restarted without persistence, flushed, or the
// keys expired), the state is made anew, with full buckets, in cold start,
// and with a new generation: what processes spent locally before the loss
// is not charged to it (the levels are unknown anyway). One call passes on
// the key until a response lowers the levels to the server's. Calls that
// other processes still have in flight at that moment are not in the
// shared levels, so for about one round trip the levels may be above the
// truth by those calls.
//
// With static shares, a process that has finished (or is idle) leaves its
// share of the budget unused while the others are cut off. A process that
// exits while cut off never charges Redis with what it spent; if Redis kept
// its state, the shared levels are too high by that much (less the floor
// at zero) until responses lower them.
//
// A shared level is never raised by a response, so tokens that Redis
// counts as spent but the server never saw (a call reserved that did not
// reach the server, a reservation that Redis executed after the store had
// given up waiting for it) are lost until the bucket refills to full.
// Throttle's drift reserve, which reads lowerings as another consumer's
// spending, sees only lowerings from a shared store.
//
// In the tests that kill Redis in the middle of a 4-process import and
// restart it a second later, or stop it (SIGSTOP) for a second, every run
// finished with every note, none twice, and an efficiency of 0.98 to 0.99
// (0.99 without either); none met a 429 around the outage. Before answers
// counted every process's calls in flight, about one run in a hundred on a
// loaded machine (one in ten on a busier one) met one or two 429s at the
// end of the opening burst, 100 to 190 ms in, with or without an outage:
// Redis had refilled while the server's full bucket waited for the burst's
// first calls. None has since (0 of 60 runs of the three tests, 0 of 300
// of the burst alone, against 1 of 96 and 2 of 300 before).
//
// A Store belongs to one Throttle: create one Store per Throttle. Its
// methods are safe for concurrent use all the same.
package redisstore
