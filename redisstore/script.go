package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts. Each runs atomically in Redis and starts with the same
// prelude, which reads the clock (TIME, in microseconds), loads the key's
// state and brings every bucket up to now.
//
// KEYS[1] is the state hash, KEYS[2] the queue (a sorted set of ticket ids),
// KEYS[3] the waiters' hash (ticket id -> "expiry c1 ... cn").
// ARGV[1] is the policy's fingerprint, ARGV[2] the keys' TTL in ms, ARGV[3]
// the number of buckets n, then for each bucket its limit L, units per token
// q and units refilled per microsecond r; the operation's own arguments
// follow, from ARGV[base].
//
// Every number is an integer below 2^53 (New checks the ranges), so Lua's
// doubles hold it exactly; and a/b for such integers rounds to the right
// side of every integer, so math.ceil(a/b) is exact. Numbers are written
// back with %d, never with Lua's default %.14g.
const prelude = `
local pol = ARGV[1]
local ttl = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local L, Q, R, F = {}, {}, {}, {}
for i = 1, n do
  L[i] = tonumber(ARGV[1 + 3*i]); Q[i] = tonumber(ARGV[2 + 3*i]); R[i] = tonumber(ARGV[3 + 3*i])
  F[i] = L[i] * Q[i]
end
local base = 4 + 3*n
local function I(x) return string.format('%d', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local fields = {'pol', 'synced', 'pause', 'seq', 'rec', 'probe', 'gen'}
for i = 1, n do fields[#fields + 1] = 's' .. i; fields[#fields + 1] = 'a' .. i end
local v = redis.call('HMGET', KEYS[1], unpack(fields))
local fresh = 0
local synced, pause, seq, rec, probe, gen = 0, 0, 0, 0, 0, 0
local S, A = {}, {}
if not v[1] then
  fresh = 1
  gen = now -- tells this state from one that was lost and made anew
  for i = 1, n do S[i] = F[i]; A[i] = now end
else
  if v[1] ~= pol then
    return redis.error_reply('MEMPOLICY the key holds state for another policy (' .. v[1] .. ')')
  end
  synced = tonumber(v[2]); pause = tonumber(v[3]); seq = tonumber(v[4]); rec = tonumber(v[5] or 0)
  probe = tonumber(v[6] or 0); gen = tonumber(v[7] or 0)
  for i = 1, n do S[i] = tonumber(v[6 + 2*i]); A[i] = tonumber(v[7 + 2*i]) end
end
-- adv credits bucket i of (s, a) with the refill up to x, capped at full.
local function adv(s, a, i, x)
  local e = x - a[i]
  if e <= 0 then return end
  a[i] = x
  local missing = F[i] - s[i]
  if missing <= 0 then return end
  if e >= math.ceil(missing / R[i]) then s[i] = F[i] else s[i] = s[i] + e * R[i] end
end
-- need returns the microseconds until bucket i of s holds c tokens.
local function need(s, i, c)
  local d = c * Q[i] - s[i]
  if d <= 0 then return 0 end
  return math.ceil(d / R[i])
end
for i = 1, n do adv(S, A, i, now) end
local function save()
  if fresh == 1 then redis.call('DEL', KEYS[2], KEYS[3]) end
  local kv = {'pol', pol, 'synced', I(synced), 'pause', I(pause), 'seq', I(seq), 'rec', I(rec), 'probe', I(probe), 'gen', I(gen)}
  for i = 1, n do
    kv[#kv + 1] = 's' .. i; kv[#kv + 1] = I(S[i])
    kv[#kv + 1] = 'a' .. i; kv[#kv + 1] = I(A[i])
  end
  redis.call('HSET', KEYS[1], unpack(kv))
  redis.call('PEXPIRE', KEYS[1], ttl)
end
local function costs(at)
  local c = {}
  for i = 1, n do c[i] = tonumber(ARGV[at + i - 1]) end
  return c
end
`

// takeScript reserves a cost vector in every bucket, all or nothing, in the
// order of the shared queue. ARGV[base..base+n-1] is the cost per bucket,
// ARGV[base+n..base+2n-1] the headroom the call must leave in each (it
// passes when a bucket holds cost plus headroom, and is charged the cost;
// its place waits for both), then the caller's ticket (0 for none), the grace a waiter's slot survives
// past its expected wake-up, the least wait to return to a caller that has
// someone ahead, and how long a cold-start probe holds the key (all in µs):
// while the key is in cold start, one reservation passes, and the next only
// when a response has ended the cold start or the hold has passed. The last
// argument, keep, is 1 for a passing Take (a later call trying to pass the
// caller's head, or a look at the head's wait): such a reservation passes
// or waits behind the same ones as the ticket, but leaves the ticket as it
// is (neither retired, nor registered, nor given this cost or a new
// expiry). It returns
// {wait µs, synced, ticket, pause left µs, generation, then each bucket's
// level in units}: wait 0 means the cost was taken and, unless keep, the
// ticket retired (0).
var takeScript = redis.NewScript(prelude + `
local C = costs(base)
local H = costs(base + n)
local CH = {}
for i = 1, n do CH[i] = C[i] + H[i] end
local tk = tonumber(ARGV[base + 2*n])
local grace = tonumber(ARGV[base + 2*n + 1])
local minretry = tonumber(ARGV[base + 2*n + 2])
local probehold = tonumber(ARGV[base + 2*n + 3])
local keep = tonumber(ARGV[base + 2*n + 4]) == 1
local ahead, mine = {}, false
if fresh == 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local w = redis.call('HGET', KEYS[3], id)
    local f = {}
    if w then for tok in string.gmatch(w, '%S+') do f[#f + 1] = tonumber(tok) end end
    if not w or f[1] < now then
      redis.call('ZREM', KEYS[2], id); redis.call('HDEL', KEYS[3], id)
    elseif tonumber(id) == tk then
      mine = true
    elseif not mine then
      local c = {}
      for i = 1, n do c[i] = f[i + 1] or 0 end
      ahead[#ahead + 1] = c
    end
  end
end
local paused = math.max(0, pause - now, rec - now)
-- Cold start is global: one call on the key until a response has told the
-- levels (or the probe's hold has passed without one).
if synced == 0 and probe > now then paused = math.max(paused, math.min(probe - now, 5 * minretry)) end
local wait = paused
if #ahead == 0 then
  for i = 1, n do wait = math.max(wait, need(S, i, CH[i])) end
  if wait == 0 then
    for i = 1, n do S[i] = S[i] - C[i] * Q[i] end
    if synced == 0 then probe = now + probehold end
    if not keep then
      if mine then redis.call('ZREM', KEYS[2], I(tk)); redis.call('HDEL', KEYS[3], I(tk)) end
      tk = 0
    end
    save()
    local out = {0, synced, tk, 0, gen}
    for i = 1, n do out[#out + 1] = S[i] end
    return out
  end
else
  -- Those ahead take in order, each as soon as its cost is there; then us.
  local s2, a2 = {}, {}
  for i = 1, n do s2[i] = S[i]; a2[i] = A[i] end
  local x = now + paused
  local function admit(c, dotake)
    local w = 0
    for i = 1, n do adv(s2, a2, i, x); w = math.max(w, need(s2, i, c[i])) end
    x = x + w
    if dotake then for i = 1, n do adv(s2, a2, i, x); s2[i] = s2[i] - c[i] * Q[i] end end
  end
  for _, c in ipairs(ahead) do admit(c, true) end
  admit(CH, false)
  wait = math.max(x - now, minretry)
end
save()
if keep then
  local out = {wait, synced, tk, paused, gen}
  for i = 1, n do out[#out + 1] = S[i] end
  return out
end
if not mine then
  seq = seq + 1
  tk = seq
  redis.call('HSET', KEYS[1], 'seq', I(seq))
  redis.call('ZADD', KEYS[2], tk, I(tk))
end
local wrec = {I(now + wait + grace)}
for i = 1, n do wrec[#wrec + 1] = I(CH[i]) end
redis.call('HSET', KEYS[3], I(tk), table.concat(wrec, ' '))
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
local out = {wait, synced, tk, paused, gen}
for i = 1, n do out[#out + 1] = S[i] end
return out
`)

// giveScript returns a cost vector (ARGV[base..]) to the buckets, never
// beyond full. It returns {synced}.
var giveScript = redis.NewScript(prelude + `
local C = costs(base)
for i = 1, n do S[i] = math.min(F[i], S[i] + C[i] * Q[i]) end
save()
return {synced}
`)

// returnScript brings a store back from its local budget, in two phases.
// Phase 0 (ARGV[base+n+1] = 0), the probe, opens a recovery window of
// ARGV[base+n] µs unless one is open, during which every reservation waits
// (as in a pause): processes still cut off spend their local shares, and
// all of them, probing at least once a window, come back at its end.
// Phase 1, at the window's end, charges the cost vector ARGV[base..] (what
// the process spent locally), but only if the state is the one the process
// knew before it was cut off (ARGV[base+n+2] is that state's generation),
// and not below zero (nor below the level, if it is already lower). Below
// zero it would be wrong in the common case: while nobody reserved from
// Redis, its buckets refilled up to full and no further, while the
// processes spent on the server all the refill; the charge then counts the
// spending that the capped refill never covered. A level of zero is safe
// there: a process's local budget starts empty and never spends more than
// its share of the refill, so the server keeps at least what they left.
// A state made anew after a loss is not charged at all: it starts full in
// cold start and the first response lowers it (a debt would keep it below
// the server's for good, since shared levels are never raised). It returns
// {synced, fresh, µs left in the window}.
var returnScript = redis.NewScript(prelude + `
local C = costs(base)
local window = tonumber(ARGV[base + n])
if tonumber(ARGV[base + n + 1]) == 0 then
  if rec <= now then rec = now + window end
elseif tonumber(ARGV[base + n + 2]) == gen then
  for i = 1, n do S[i] = math.max(math.min(S[i], 0), S[i] - C[i] * Q[i]) end
end
save()
return {synced, fresh, math.max(0, rec - now)}
`)

// answerScript records one response (throttle.Store.Answer) in one round
// trip. The call leaves flight: every bucket is held to at most its limit
// less the tokens this process had in flight (ARGV[base+n..base+2n-1]),
// then, if ARGV[base+2n] is 1, the call's cost vector (ARGV[base..]) is
// given back. Then each of the ARGV[base+2n+3] readings that follow, four
// numbers each (bucket index from 1, floor, ceil in tokens, slack in µs),
// lowers its bucket to floor when the level is at least ceil plus the
// refill over slack (a response proved the server holds less: see
// throttle.Reading), within [-4 L, L]; a shared level is never raised.
// Then the key counts as synced if ARGV[base+2n+1] is 1, and every
// reservation waits ARGV[base+2n+2] µs from Redis's now if that is later
// than the pause in force. It returns {synced, then before and after of
// each reading, in units}.
var answerScript = redis.NewScript(prelude + `
local C = costs(base)
local H = costs(base + n)
local o = base + 2*n
local refund = tonumber(ARGV[o])
local mark = tonumber(ARGV[o + 1])
local pz = tonumber(ARGV[o + 2])
local m = tonumber(ARGV[o + 3])
for i = 1, n do
  S[i] = math.min(S[i], (L[i] - H[i]) * Q[i])
  if refund == 1 then S[i] = math.min(F[i], S[i] + C[i] * Q[i]) end
end
local out = {0}
for j = 1, m do
  local at = o + 4*j
  local i = tonumber(ARGV[at])
  local floor = tonumber(ARGV[at + 1])
  local ceil = tonumber(ARGV[at + 2]) * Q[i]
  local slack = math.max(0, tonumber(ARGV[at + 3]))
  local before = S[i]
  if ceil < F[i] and slack < math.ceil((F[i] - ceil) / R[i]) and S[i] >= ceil + slack * R[i] then
    S[i] = math.max(-4 * L[i], math.min(L[i], floor)) * Q[i]
  end
  out[#out + 1] = before
  out[#out + 1] = S[i]
end
if mark == 1 then synced = 1 end
if pz > 0 then pause = math.max(pause, now + pz) end
save()
out[1] = synced
return out
`)

// markSyncedScript records that a response has told the real levels.
var markSyncedScript = redis.NewScript(prelude + `
synced = 1
save()
return {synced}
`)

// stateScript reads without writing: {now µs, pause µs, synced, s1, ..., sn}.
var stateScript = redis.NewScript(prelude + `
local out = {now, pause, synced}
for i = 1, n do out[#out + 1] = S[i] end
return out
`)
