package throttle

import (
	"math"
	"net/http"
	"time"

	"github.com/memsdk/mem-go/headers"
)

// Outcome is what came back for an admitted call.
type Outcome struct {
	// Responded is false when no response arrived (a transport error): the
	// call may or may not have been charged by the server, so nothing is
	// resynchronised and nothing is given back.
	Responded bool
	// StatusCode is the response's HTTP status.
	StatusCode int
	// Header is the response's header, whose rate-limit headers and
	// Retry-After Done reads.
	Header http.Header
	// QuotaExceeded marks a 429 whose body has error.type "quota_exceeded":
	// a plan's allowance, not a rate limit, so it pauses nothing.
	QuotaExceeded bool
}

// Done completes the call tk admitted. It reads what the response proves
// about the server's buckets, assuming only this of the network: the server
// charged the call somewhere between its send and now, metered calls in any
// order, and the Remaining it reports is the floor of the level just after
// it metered this call, counting every call metered before it.
//
//   - Settle: a bucket the server held full earned no refill before the
//     call reached it, so the refill the mirror credited since admission is
//     taken back where it would pass the limit; a rate-limit 429 gives the
//     call's cost back, since the server did not charge it.
//   - Resync each window a response names (see Reading): the level is at
//     least Remaining less what the server may not have counted yet (this
//     client's calls still in flight and those answered since this one was
//     sent), and was less than Remaining + 1 when the call was metered. A
//     level the answer proves too high was counting on tokens another
//     consumer took: it is lowered, and the drift estimate learns the
//     excess; a level below what the answer proves is raised. Nothing
//     depends on the order in which answers come back.
//   - Learn: a Limit that differs from the policy's replaces it for that
//     window, the window not shown holds at least what the shown one does,
//     and the answer may measure the route's price (see costBook).
//   - Pause: a rate-limit 429 holds every caller until Retry-After.
//
// The store sees all of it as one Answer (with a shared store, one round
// trip, shared with the other answers and admissions that are ready: Done
// returns once the store has it). Malformed headers are ignored and counted
// in Stats. Hooks run after the lock is released.
func (t *Throttle) Done(tk Ticket, o Outcome) {
	wallNow := time.Now()
	r := readOutcome(o, wallNow)
	if t.mem == nil {
		t.doneRemote(tk, &r)
		return
	}
	t.mu.Lock()
	now := wallNow.Sub(t.epoch)
	d := &t.doneBuf
	*d = doneCall{} // then set: a literal would be built on the stack first
	d.tk, d.r = tk, r
	t.count(&d.r)
	d.begin(t)
	t.adoptLimits(now, &d.r, t.mem.adoptBucket)
	a := &t.answerBuf
	t.openAnswer(now, d, a, t.readBuf[:0], t.movedBuf[:])
	t.mem.answer(now, a)
	var eb [4]ResyncEvent
	events := t.closeAnswer(now, d, a, eb[:0])
	if t.mayHaveFreed(d.changed(t), d.oneAtATime) {
		t.wakeHeadLocked(now)
	}
	pausedUntil := d.pausedUntil
	t.mu.Unlock()

	t.notify(events, pausedUntil)
}

// doneCall is one call's completion, as Done reads it in steps: counters
// from before the answer, what it proved, and what to tell the hooks.
type doneCall struct {
	tk        Ticket
	r         response
	wasSynced bool
	// oneAtATime is set when calls were admitted one at a time (cold
	// start, or a probe): this answer lets the next one go.
	oneAtATime bool
	// lowerings, raised and adopted are the counters before the answer.
	lowerings, raised, adopted uint64
	repriced                   bool
	shown                      [4]headers.WindowState
	pausedUntil                time.Time
}

// begin records the counters the answer may change, with t.mu held.
func (d *doneCall) begin(t *Throttle) {
	d.wasSynced = t.synced()
	d.oneAtATime = !d.wasSynced || t.probingPrice()
	d.lowerings, d.raised, d.adopted = t.lowerings, t.stats.Raised, t.stats.LimitsAdopted
}

// changed reports whether the answer raised a level, changed a limit or a
// price.
func (d *doneCall) changed(t *Throttle) bool {
	return d.raised != t.stats.Raised || d.adopted != t.stats.LimitsAdopted || d.repriced
}

// openAnswer takes d's call out of flight and builds the store's Answer
// (readings into rbuf, Moved into mbuf), with t.mu held: the store must
// apply it before any other call is admitted, since its readings count
// what is in flight now.
func (t *Throttle) openAnswer(now time.Duration, d *doneCall, a *Answer, rbuf []BucketReading, mbuf []Moved) {
	inflight := t.inflight
	t.inflight = t.inflight.Sub(d.tk.cost)
	t.inflightN--
	readings, shown := t.readings(now, d.tk, &d.r, rbuf)
	d.shown = shown
	if !d.r.rateLimited { // counted before the next answer reads
		t.charged = t.charged.Add(d.tk.cost)
	}
	*a = Answer{Cost: d.tk.cost, Inflight: inflight, Refund: d.r.rateLimited, Readings: readings, Moved: mbuf[:len(readings)], Synced: len(readings) > 0}
	if d.r.rateLimited {
		a.Pause = d.r.retryAfter
	}
}

// closeAnswer learns what the store did with a, with t.mu held: the drift,
// the route's price, the pause; it appends the levels' moves to events.
func (t *Throttle) closeAnswer(now time.Duration, d *doneCall, a *Answer, events []ResyncEvent) []ResyncEvent {
	events = t.learnLevels(now, d.tk, &d.r, a.Readings, d.shown, a.Moved, d.wasSynced, events)
	prices := t.costs.changes
	t.learnCost(now, d.tk, &d.r, t.lowerings != d.lowerings)
	t.forgetExplainedDrift()
	d.repriced = t.costs.changes != prices
	if d.repriced {
		t.repriceQueued()
	}
	if d.r.rateLimited {
		t.stats.Pauses++
		d.pausedUntil = t.epoch.Add(now + d.r.retryAfter)
	}
	return events
}

// mayHaveFreed reports whether the answer Done just read may let the head
// of the line go sooner than its timer says: it raised a level, changed a
// limit or a price (changed), answered a call admitted while calls went
// one at a time (cold start, a probe), freed room in flight that the head
// was waiting for, or may have shrunk the drift reserve. Any other answer
// wakes nobody: a queue drained by the refill is not woken once per Done.
func (t *Throttle) mayHaveFreed(changed, oneAtATime bool) bool {
	freed := changed || t.flightFull || oneAtATime || t.drift.active
	t.flightFull = false
	return freed
}

// response is what Done reads from an Outcome before taking the lock.
type response struct {
	status      headers.Status
	rateLimited bool          // a rate-limit 429: not charged, pauses callers
	quota       bool          // a quota 429
	retryAfter  time.Duration // the pause, when rateLimited
	malformed   bool          // rate headers or Retry-After unusable
}

func readOutcome(o Outcome, wallNow time.Time) response {
	if !o.Responded {
		return response{}
	}
	r := response{quota: o.QuotaExceeded}
	var err error
	r.status, err = headers.Parse(o.Header)
	r.malformed = err != nil
	if o.StatusCode == http.StatusTooManyRequests && !o.QuotaExceeded {
		r.rateLimited = true
		wait, ok, err := headers.ParseRetryAfter(o.Header, wallNow)
		r.malformed = r.malformed || err != nil
		r.retryAfter = wait
		if !ok || err != nil {
			r.retryAfter = DefaultRetryAfter
		}
	}
	return r
}

func (t *Throttle) count(r *response) {
	if r.malformed {
		t.stats.MalformedHeaders++
	}
	if r.rateLimited {
		t.stats.RateLimited++
	}
	if r.quota {
		t.stats.QuotaExceeded++
	}
}

// adoptLimits learns the limits the response shows: a Limit that differs
// from the policy's replaces it for that window, and the window of the same
// kind that it does not show, which holds at least as many tokens as the
// one shown (the headers show the most constrained), holds at least
// Remaining: its limit is raised to that if below.
func (t *Throttle) adoptLimits(now time.Duration, r *response, adopt func(now time.Duration, b Bucket) bool) {
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws, i := t.shown(r, k)
		if i < 0 {
			continue
		}
		if ws.Limit != t.policy.Buckets[i].Limit {
			t.adoptLimit(now, i, ws.Limit, adopt)
		}
		for j, b := range t.policy.Buckets {
			if b.Kind == k && b.Window != ws.Window && ws.Remaining > b.Limit {
				t.adoptLimit(now, j, ws.Remaining, adopt)
			}
		}
	}
}

// readings builds what the response proves of each bucket (see Reading),
// appended to buf: for each kind, the window shown, and the other window
// of the kind, raised to at least the shown one's floor (never lowered by
// it). shown[i] is the window state reading i stands for (Remaining of
// the shown window, for a hidden one too); only a shown window's Limit
// equals that of its headers. A reading may raise a level unless a
// response proved another consumer's spending since tk's call was sent:
// the answer may predate it.
func (t *Throttle) readings(now time.Duration, tk Ticket, r *response, buf []BucketReading) (_ []BucketReading, shown [4]headers.WindowState) {
	flight := now - tk.at
	raise := tk.lowerings == t.lowerings
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws, i := t.shown(r, k)
		if i < 0 {
			continue
		}
		// Answered since tk was sent, they may have been metered after it; and
		// others may have spent over the flight, at the rate drift estimates.
		unseen := t.inflight.Of(k) + t.charged.Of(k) - tk.charged.Of(k) + t.drift.over(k, flight)
		floor := ws.Remaining - unseen
		shown[len(buf)] = ws
		buf = append(buf, BucketReading{Kind: k, Window: ws.Window, Reading: Reading{Floor: floor, Ceil: ws.Remaining + 1, Slack: flight, Raise: raise}})
		for _, b := range t.policy.Buckets {
			if b.Kind == k && b.Window != ws.Window {
				shown[len(buf)] = headers.WindowState{Window: b.Window, Limit: b.Limit, Remaining: ws.Remaining}
				buf = append(buf, BucketReading{Kind: k, Window: b.Window, Reading: Reading{Floor: floor, Ceil: math.MaxInt64, Raise: raise}})
			}
		}
	}
	return buf, shown
}

// learnLevels reads what the store did with each reading: a lowered shown
// window proves another consumer spent (the drift estimate learns how
// much, once the first answer has told what others left before this client
// started, and the first to show that window what it held), and every move
// is counted and appended to events.
func (t *Throttle) learnLevels(now time.Duration, tk Ticket, r *response, readings []BucketReading, shown [4]headers.WindowState, moved []Moved, wasSynced bool, events []ResyncEvent) []ResyncEvent {
	lowered := false
	for j, rd := range readings {
		m, ws := moved[j], shown[j]
		if !m.Found {
			continue
		}
		if rd.Ceil != math.MaxInt64 { // the window shown
			i := t.bucketIndex(rd.Kind, rd.Window)
			first := !t.windowShown[i]
			t.windowShown[i] = true
			switch {
			case !wasSynced:
				lowered = lowered || m.After < m.Before
				t.drift.begin(rd.Kind, now, m.After)
			case first:
				// The first answer to show this window (a day window, on a
				// key used earlier today, once it holds fewer tokens than the
				// minute window) tells what was spent before the run: not
				// drift, nor a proof that someone spends now.
				t.drift.begin(rd.Kind, now, m.After)
			default:
				lowered = lowered || m.After < m.Before
				spent := m.Before - m.After // proven: only a proof lowers; raises give back the proofs' pessimism
				if r.rateLimited {          // the server had less than the call needed
					spent = max(spent, float64(tk.cost.Of(rd.Kind)-ws.Remaining))
				}
				t.drift.observe(rd.Kind, tk.route, spent, tk.at, now, t.inflight.Of(rd.Kind) == 0, m.After, t.policy.Buckets[i])
			}
		}
		events = t.moved(events, rd.Kind, ws, m.Before, m.After)
	}
	if lowered {
		t.lowerings++
	}
	return events
}

// forgetExplainedDrift clears the drift estimate of each kind in which a
// measurement has just raised a price: the spending it learned may be the
// route's own calls, counted at the old price, and its reserve would then
// pace every call for minutes after the price explains it. If another
// consumer does spend, the next answers that prove it teach it again.
func (t *Throttle) forgetExplainedDrift() {
	for k, rose := range t.costs.rose {
		if rose {
			t.drift.forget(headers.Kind(k))
		}
	}
	t.costs.rose = [2]bool{}
}

// repriceQueued gives the calls still queued the prices learned since they
// queued: a mem-it waiting for 40 tokens after a 429 proved it costs 60
// would meet a second 429.
func (t *Throttle) repriceQueued() {
	t.queue.reprice(func(w *waiter) Cost {
		if w.route == 0 {
			return w.cost
		}
		return t.costs.costOf(w.route, w.cost)
	})
}

// learnCost gives the cost book what the response tells of tk's price
// (provedOthers: the response proved another consumer spent). A
// measurement is clean when the call was alone in flight from send to
// answer and, unless a probe is on (see probe), no recent proof came from
// an answer to a call that was not alone: such a proof may be another
// consumer's spending, which would inflate the measurement.
func (t *Throttle) learnCost(now time.Duration, tk Ticket, r *response, provedOthers bool) {
	alone := tk.alone && t.seq == tk.seq
	// The probed route's calls go one at a time to be measured: the proofs
	// seen may be its price. Other routes' measurements keep the hold.
	probed := t.probingPrice() && t.costs.probe.measures(tk.route)
	t.costs.probe.answered(tk.seq)
	if provedOthers && !alone {
		t.measuresFrom = now + t.drift.horizon()
		if t.ownStore {
			t.costs.suspect(tk.route, tk.cost)
		}
	}
	clean := t.ownStore && alone && (probed || now >= t.measuresFrom)
	var rate [2]float64
	var ms [2]measurement
	var has [2]bool
	for _, k := range [2]headers.Kind{headers.Requests, headers.Complexity} {
		ws, i := t.shown(r, k)
		if i < 0 {
			continue
		}
		b := t.policy.Buckets[i]
		rate[k] = float64(b.Limit) / float64(b.Period)
		othersRate := t.drift.rate[k] // 0 alone on the key
		if probed && t.drift.provedOnlyBy(k, tk.route) {
			// The probe is there because the drift estimate may be this
			// route's own price, and only its answers proved it: allowing
			// for it would measure the price away.
			othersRate = 0
		}
		ms[k], has[k] = measurement{tk: tk, ws: ws, alone: alone, clean: clean, rate: rate[k], now: now, others: t.drift.active, othersRate: othersRate}, true
	}
	if r.rateLimited {
		t.costs.refused(tk, r.status, r.retryAfter, rate, t.capacity)
	} else {
		t.costs.measureAnswer(&ms, has)
	}
	t.costs.probe.began(t.seq)
}

// moved counts a resync that moved a level and appends its event.
func (t *Throttle) moved(events []ResyncEvent, k headers.Kind, ws headers.WindowState, before, after float64) []ResyncEvent {
	if after == before {
		return events
	}
	if after < before {
		t.stats.Lowered++
	} else {
		t.stats.Raised++
	}
	return append(events, ResyncEvent{Kind: k, Window: ws.Window, Remaining: ws.Remaining, Before: before, After: after})
}

// adoptLimit makes limit the capacity of policy bucket i, when it is one the
// bucket math can hold and adopt, the store's Adopt, takes it: the server is
// authoritative, whether it lowers a limit or raises it. A limit below 1,
// or too large for the bucket's period, is ignored and counted as malformed.
func (t *Throttle) adoptLimit(now time.Duration, i int, limit int64, adopt func(time.Duration, Bucket) bool) {
	b := t.policy.Buckets[i]
	b.Limit = limit
	if limit < 1 || limit > maxScaled/unitsPerToken(b) {
		t.stats.MalformedHeaders++
		return
	}
	if adopt(now, b) {
		t.limitAdopted(b)
	}
}

// limitAdopted records that the store adopted b's limit.
func (t *Throttle) limitAdopted(b Bucket) {
	i := t.bucketIndex(b.Kind, b.Window)
	t.policy.Buckets[i] = b
	t.capacity = t.policy.capacity()
	t.drift.limit[b.Kind] = float64(t.capacity.Of(b.Kind)) / 4
	t.stats.LimitsAdopted++
}

func (t *Throttle) notify(events []ResyncEvent, pausedUntil time.Time) {
	if t.hooks.OnResync != nil {
		for _, e := range events {
			t.hooks.OnResync(e)
		}
	}
	if !pausedUntil.IsZero() && t.hooks.OnPause != nil {
		t.hooks.OnPause(pausedUntil)
	}
}

// shown returns the window of kind k that r reports and the index of its
// policy bucket (-1 when r reports none, or a window the policy lacks).
func (t *Throttle) shown(r *response, k headers.Kind) (headers.WindowState, int) {
	ws := r.status.Of(k)
	if !ws.Present() {
		return ws, -1
	}
	return ws, t.bucketIndex(k, ws.Window)
}

func (t *Throttle) bucketIndex(k headers.Kind, w headers.Window) int {
	for i, b := range t.policy.Buckets {
		if b.Kind == k && b.Window == w {
			return i
		}
	}
	return -1
}
