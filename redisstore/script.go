package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts, composed from shared pieces. Each runs atomically in
// Redis and starts with the same prelude, which reads the clock (TIME, in
// microseconds), loads the key's state and brings every bucket up to now.
//
// KEYS[1] is the state (a string: see below), KEYS[2] the queue (a sorted
// set of ticket ids), KEYS[3] the waiters' hash (ticket id -> "expiry c1
// ... cn").
// ARGV[1] is the policy's fingerprint; ARGV[2] the store's constants, a
// MessagePack array: the keys' TTL in ms, the number of buckets n, the
// grace a place in the queue survives past its expected wake-up, the least
// wait returned to a caller that has someone ahead of it, how long a
// cold-start probe holds the key and how long a store's calls in flight
// count after its last exchange (all in µs); then arrays of each bucket's
// limit L, units per token q, units refilled per microsecond r, kind (1
// requests, 2 complexity) and capacity in units (L·q). The operation's own
// arguments follow in ARGV[3], a MessagePack array of integers too (see
// payloadLua).
//
// The state is a MessagePack array: the policy's fingerprint, then synced,
// pause, seq, rec, probe and gen, then arrays of each bucket's level
// (units) and the time it was brought to (µs), then the record of calls
// in flight (see flightLua). One GET reads it, one SET writes it with its
// TTL, and cmsgpack (built into Redis's Lua) unpacks and packs it, arrays
// included, in one call each: fields read and written one by one, each
// number formatted and parsed in Lua, cost an exchange several times more.
//
// Every number is an integer below 2^53 (New checks the ranges), so Lua's
// doubles hold it exactly, and MessagePack carries it as an integer; a/b
// for such integers rounds to the right side of every integer, so
// math.ceil(a/b) is exact. Numbers written as text use %d, never Lua's
// default %.14g, and every script replies with an array of integers (Redis
// converts each Lua number to one).
const prelude = `
local pol = ARGV[1]
local c = cmsgpack.unpack(ARGV[2])
local ttl, n, grace, minretry, probehold, flighthold = c[1], c[2], c[3], c[4], c[5], c[6]
local L, Q, R, K, F = c[7], c[8], c[9], c[10], c[11]
local function I(x) return string.format('%d', x) end
-- vec spreads a cost given per kind over the buckets.
local function vec(r, c)
  local v = {}
  for i = 1, n do if K[i] == 1 then v[i] = r else v[i] = c end end
  return v
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local st = redis.call('GET', KEYS[1])
local fresh = 0
local synced, pause, seq, rec, probe, gen = 0, 0, 0, 0, 0, 0
local S, A, FL
if not st then
  fresh = 1
  gen = now -- tells this state from one that was lost and made anew
  S, A, FL = {}, {}, {}
  for i = 1, n do S[i] = F[i]; A[i] = now end
else
  local v = cmsgpack.unpack(st)
  if v[1] ~= pol then
    return redis.error_reply('MEMPOLICY the key holds state for another policy (' .. tostring(v[1]) .. ')')
  end
  synced, pause, seq, rec, probe, gen, S, A, FL = v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]
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
-- clearQueue drops the queue of a state made anew (once).
local cleared = false
local function clearQueue()
  if fresh == 1 and not cleared then redis.call('DEL', KEYS[2], KEYS[3]) end
  cleared = true
end
local function save()
  clearQueue()
  redis.call('SET', KEYS[1], cmsgpack.pack({pol, synced, pause, seq, rec, probe, gen, S, A, FL}), 'PX', ttl)
end
-- give returns the cost vector C to every bucket, never beyond full.
local function give(C)
  for i = 1, n do S[i] = math.min(F[i], S[i] + C[i] * Q[i]) end
end
`

// payloadLua reads the operation's arguments, a MessagePack array of
// integers in ARGV[3], one at a time with nx().
const payloadLua = `
local P, p = cmsgpack.unpack(ARGV[3]), 0
local function nx() p = p + 1; return P[p] end
`

// flightLua keeps the calls in flight of every store on the key, in the
// state's record FL: four numbers per store, its id, when its entry
// expires, its requests and its complexity in flight, written by the
// store's own exchanges only. The exchange reads the store's id and its
// calls in flight once this exchange's answers and give are applied (own,
// per kind) from the payload. loadFlight, called only when there are
// answers to apply, drops the entries past their expiry and sums the other
// stores' into O. saveFlight records the store's calls in flight after
// the exchange (own plus what it admitted), to expire flighthold µs from
// now, or drops the entry when there are none.
const flightLua = `
local me, own, O = 0, {0, 0}, {0, 0}
local function loadFlight()
  local keep = {}
  for k = 1, #FL, 4 do
    if FL[k + 1] >= now then
      for j = k, k + 3 do keep[#keep + 1] = FL[j] end
      if FL[k] ~= me then O[1] = O[1] + FL[k + 2]; O[2] = O[2] + FL[k + 3] end
    end
  end
  FL = keep
end
local function saveFlight(r, c)
  local j = #FL + 1
  for k = 1, #FL, 4 do if FL[k] == me then j = k end end
  if r > 0 or c > 0 then
    FL[j], FL[j + 1], FL[j + 2], FL[j + 3] = me, now + flighthold, r, c
  elseif j <= #FL then -- the last entry takes the place of ours
    local m = #FL - 3
    FL[j], FL[j + 1], FL[j + 2], FL[j + 3] = FL[m], FL[m + 1], FL[m + 2], FL[m + 3]
    FL[m], FL[m + 1], FL[m + 2], FL[m + 3] = nil, nil, nil, nil
  end
end
`

// answerLua applies one answer (throttle.Answer) read from the payload:
// cost and inflight (per kind), refund, synced, pause (µs) and m readings
// of four numbers each (bucket index from 1, floor, ceil in tokens, slack
// in µs). The call leaves flight: every bucket is held to at most its limit
// less the tokens in flight, this process's (inflight) and, down to zero
// at most, the other stores' (O, see flightLua); then the cost is given
// back on a refund. Each reading lowers its bucket to floor, within
// [-4 L, L], when the level is at least ceil plus the refill over slack
// (the server holds less: see throttle.Reading); a shared level is never
// raised. Then the key counts as synced if asked, and every admission
// waits until the pause from Redis's now if that is later than the pause
// in force. Each reading's level before and after (units) is appended to
// moved.
const answerLua = `
local function answer(moved)
  local C = vec(nx(), nx())
  local H = vec(nx(), nx())
  local refund, mark, pz, m = nx(), nx(), nx(), nx()
  local OV = vec(O[1], O[2])
  for i = 1, n do
    local lim = L[i] - H[i] - OV[i]
    if lim < 0 then lim = math.min(0, L[i] - H[i]) end
    S[i] = math.min(S[i], lim * Q[i])
  end
  if refund == 1 then give(C) end
  for _ = 1, m do
    local i, floor = nx(), nx()
    local ceil = nx() * Q[i]
    local slack = math.max(0, nx())
    local before = S[i]
    if ceil < F[i] and slack < math.ceil((F[i] - ceil) / R[i]) and S[i] >= ceil + slack * R[i] then
      S[i] = math.max(-4 * L[i], math.min(L[i], floor)) * Q[i]
    end
    moved[#moved + 1] = before
    moved[#moved + 1] = S[i]
  end
  if mark == 1 then synced = 1 end
  if pz > 0 then pause = math.max(pause, now + pz) end
end
`

// queueLua is the queue shared by every store on the key: one place per
// store whose throttle's head waits, served in the order they were taken.
// load reads it (dropping places past their expiry) and finds the
// caller's, ticket tk: ahead lists the cost vectors of the places before
// it (all of them if the caller holds none), after those behind it.
// wait returns the µs until a cost vector fits behind the places ahead
// (each taking its cost, in order, as soon as it is there) and after the
// pause, the recovery window and a cold-start probe's hold (at least
// minretry when someone is ahead); take charges C when CH (C plus the
// headroom) fits now. hold gives the caller's place (taken at the end of
// the queue if it holds none) the cost vector CH and an expiry of grace
// past its wait; retire gives it up.
const queueLua = `
local tk, mine = 0, false
local ahead, after = {}, {}
local function load()
  if fresh == 1 then return end
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local w = redis.call('HGET', KEYS[3], id)
    local f = {}
    if w then for tok in string.gmatch(w, '%S+') do f[#f + 1] = tonumber(tok) end end
    if not w or f[1] < now then
      redis.call('ZREM', KEYS[2], id); redis.call('HDEL', KEYS[3], id)
    elseif tonumber(id) == tk then
      mine = true
    else
      local c = {}
      for i = 1, n do c[i] = f[i + 1] or 0 end
      if mine then after[#after + 1] = c else ahead[#ahead + 1] = c end
    end
  end
end
local function paused()
  local pz = math.max(0, pause - now, rec - now)
  -- Cold start is global: one call on the key until a response has told the
  -- levels (or the probe's hold has passed without one).
  if synced == 0 and probe > now then pz = math.max(pz, math.min(probe - now, 5 * minretry)) end
  return pz
end
local function wait(CH)
  local pz = paused()
  if #ahead == 0 then
    local w = pz
    for i = 1, n do w = math.max(w, need(S, i, CH[i])) end
    return w
  end
  -- Those ahead take in order, each as soon as its cost is there; then CH.
  local s2, a2 = {}, {}
  for i = 1, n do s2[i] = S[i]; a2[i] = A[i] end
  local x = now + pz
  local function step(c, dotake)
    local w = 0
    for i = 1, n do adv(s2, a2, i, x); w = math.max(w, need(s2, i, c[i])) end
    x = x + w
    if dotake then for i = 1, n do adv(s2, a2, i, x); s2[i] = s2[i] - c[i] * Q[i] end end
  end
  for _, c in ipairs(ahead) do step(c, true) end
  step(CH, false)
  return math.max(x - now, minretry)
end
local function take(C, CH)
  local w = wait(CH)
  if w > 0 then return w end
  for i = 1, n do S[i] = S[i] - C[i] * Q[i] end
  if synced == 0 then probe = now + probehold end
  return 0
end
local function hold(CH, w)
  clearQueue()
  if not mine then
    seq = seq + 1
    tk = seq
    mine = true
    redis.call('ZADD', KEYS[2], tk, I(tk))
  end
  local wr = {I(now + w + grace)}
  for i = 1, n do wr[#wr + 1] = I(CH[i]) end
  redis.call('HSET', KEYS[3], I(tk), table.concat(wr, ' '))
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
local function retire()
  if mine then redis.call('ZREM', KEYS[2], I(tk)); redis.call('HDEL', KEYS[3], I(tk)) end
  tk, mine, ahead, after = 0, false, after, {}
end
`

// admitLua runs one admission (throttle.Admission), read from the payload
// after the caller's ticket: the room per kind, the µs left of the head's
// bound (0: none yet), the number of calls and five numbers per call (cost
// and headroom per kind, line). The rules are throttle's: the first call
// is the head, admitted when the room holds its cost and take passes;
// then the next is the head. A head that waits holds the caller's place
// (hold) and, without a bound, gets twice its wait. Each later call is
// admitted if the room holds it beside the head, take passes, and the
// head, after it, would still go within its bound; a call that does not
// fit is passed over with its line, and the first that would delay the
// head too much is given back and ends the admission. A head admitted
// gives the place up (retire): the calls after it stand behind every other
// place. It returns {wait, new bound (0: unchanged), next, room short,
// then 1 or 0 per call}, and sets took to the cost admitted, per kind.
const admitLua = `
local took = {0, 0}
local function admit()
  local room = {nx(), nx()}
  local bound = nx()
  local nc = nx()
  local calls = {}
  for k = 1, nc do
    local cr, cc, hr, hc, line = nx(), nx(), nx(), nx(), nx()
    calls[k] = {r = cr, c = cc, line = line, C = vec(cr, cc), CH = vec(cr + hr, cc + hc)}
  end
  local w0, newbound, nxt, short = 0, 0, 0, 0
  local adm, skipped, head = {}, {}, nil
  if nc > 0 then load() end
  for k = 1, nc do adm[k] = 0 end
  for k = 1, nc do
    local c = calls[k]
    if not head then
      if c.r > room[1] or c.c > room[2] then short = 1; break end
      local d = take(c.C, c.CH)
      if d > 0 then
        head, w0 = c, d
        if bound <= 0 then bound = 2 * d; newbound = bound end
        hold(c.CH, d)
      else
        adm[k] = 1
        room[1], room[2] = room[1] - c.r, room[2] - c.c
        took[1], took[2] = took[1] + c.r, took[2] + c.c
        retire()
      end
    elseif not skipped[c.line] then
      if c.r + head.r > room[1] or c.c + head.c > room[2] then
        short = 1
        skipped[c.line] = true
      else
        local d = take(c.C, c.CH)
        if d > 0 then
          if nxt == 0 or d < nxt then nxt = d end
          skipped[c.line] = true
        else
          -- Taking c lowered the levels, so the head still cannot go now;
          -- how long must it wait after c?
          local hd = wait(head.CH)
          if hd == 0 or hd > bound then give(c.C); break end
          adm[k] = 1
          room[1], room[2] = room[1] - c.r, room[2] - c.c
          took[1], took[2] = took[1] + c.r, took[2] + c.c
        end
      end
    end
  end
  local out = {w0, newbound, nxt, short}
  for k = 1, nc do out[#out + 1] = adm[k] end
  return out
end
`

// exchangeScript applies one throttle.Exchange atomically: the answers in
// order (answerLua), the give, then the admission (admitLua), and records
// the store's calls in flight (flightLua). The payload is: the store's id
// and its calls in flight after the answers and the give (per kind); the
// number of answers and each answer; the give per kind; the caller's
// ticket (0 for none); the admission. It returns {synced, generation,
// ticket, pause left µs, each bucket's level in units, the admission's
// results, then each reading's level before and after}.
var exchangeScript = redis.NewScript(prelude + payloadLua + flightLua + answerLua + queueLua + admitLua + exchangeBody)

const exchangeBody = `
me = nx(); own = {nx(), nx()}
local moved = {}
local na = nx()
if na > 0 then loadFlight() end
for _ = 1, na do answer(moved) end
local G = vec(nx(), nx())
give(G)
tk = nx()
local res = admit()
saveFlight(own[1] + took[1], own[2] + took[2])
save()
local out = {synced, gen, tk, math.max(0, pause - now)}
for i = 1, n do out[#out + 1] = S[i] end
for _, x in ipairs(res) do out[#out + 1] = x end
for _, x in ipairs(moved) do out[#out + 1] = x end
return out
`

// returnScript brings a store back from its local budget, in two phases.
// Its payload is what the process spent locally (per kind), the window in
// µs, the phase and a generation. Phase 0, the probe, opens a recovery
// window unless one is open, during which every reservation waits (as in a
// pause): processes still cut off spend their local shares, and all of
// them, probing at least once a window, come back at its end. Phase 1, at
// the window's end, charges the spending, but only if the state is the one
// the process knew before it was cut off (the generation given), and not
// below zero (nor below the level, if it is already lower). Below zero it
// would be wrong in the common case: while nobody reserved from Redis, its
// buckets refilled up to full and no further, while the processes spent on
// the server all the refill; the charge then counts the spending that the
// capped refill never covered. A level of zero is safe there: a process's
// local budget starts empty and never spends more than its share of the
// refill, so the server keeps at least what they left. A state made anew
// after a loss is not charged at all: it starts full in cold start and the
// first response lowers it (a debt would keep it below the server's for
// good, since shared levels are never raised). It returns {synced, fresh,
// µs left in the window}.
var returnScript = redis.NewScript(prelude + payloadLua + `
local C = vec(nx(), nx())
local window, phase, g = nx(), nx(), nx()
if phase == 0 then
  if rec <= now then rec = now + window end
elseif g == gen then
  for i = 1, n do S[i] = math.max(math.min(S[i], 0), S[i] - C[i] * Q[i]) end
end
save()
return {synced, fresh, math.max(0, rec - now)}
`)

// stateScript reads without writing: {now µs, pause µs, synced, s1, ...,
// sn}.
var stateScript = redis.NewScript(prelude + `
local out = {now, pause, synced}
for i = 1, n do out[#out + 1] = S[i] end
return out
`)
