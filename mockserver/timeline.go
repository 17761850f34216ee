package mockserver

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// A token's timeline (INTERFACE §7): the store keeps, per presented token, the first
// and the last eventKeep presentations and counts; a token never presented keeps none.

const eventKeep = 16

type eventKind uint8

const (
	evNone eventKind = iota
	evIssued
	evUsed
	evRejected
	evReleased
	evExpired
)

var eventNames = [...]string{evIssued: "issued", evUsed: "used", evRejected: "rejected", evReleased: "released", evExpired: "expired"}

// tokenEvent is one presentation, compact: most tokens of a load test have one or two.
type tokenEvent struct {
	at   int64  // mock clock, Unix nanoseconds
	req  uint64 // journal id
	kind eventKind
	code uint8 // index in eventCodes; 0 for none
}

var eventCodes = append([]Code{""}, Codes()...)

// faultCodes interns the codes of faults that answer outside the catalogue (F21: any
// string), numbered after eventCodes, so an event stays one byte: up to 255 codes in
// all per process; a later one shows as no code.
var faultCodes struct {
	sync.Mutex
	list []Code
}

func codeIndex(c Code) uint8 {
	if c == CodeOK {
		return 0
	}
	for i, x := range eventCodes {
		if x == c {
			return uint8(i)
		}
	}
	faultCodes.Lock()
	defer faultCodes.Unlock()
	i := slices.Index(faultCodes.list, c)
	if i < 0 {
		if len(eventCodes)+len(faultCodes.list) > 255 {
			return 0
		}
		faultCodes.list = append(faultCodes.list, c)
		i = len(faultCodes.list) - 1
	}
	return uint8(len(eventCodes) + i)
}

// codeOf is the code an event's index stands for.
func codeOf(i uint8) Code {
	if int(i) < len(eventCodes) {
		return eventCodes[i]
	}
	faultCodes.Lock()
	defer faultCodes.Unlock()
	return faultCodes.list[int(i)-len(eventCodes)]
}

type tokenEvents struct {
	first      []tokenEvent // up to eventKeep
	last       []tokenEvent // a ring of up to eventKeep, once first is full
	next       int          // where the ring writes next
	total      int
	uses       int
	rejections int
}

func (t *tokenEvents) add(e tokenEvent) {
	t.total++
	switch e.kind {
	case evUsed:
		t.uses++
	case evRejected:
		t.rejections++
	}
	switch {
	case len(t.first) < eventKeep:
		t.first = append(t.first, e)
	case len(t.last) < eventKeep:
		t.last = append(t.last, e)
	default:
		t.last[t.next] = e
		t.next = (t.next + 1) % eventKeep
	}
}

// releaseRequest is the journal id of the release among the kept events (0: none kept).
func (t *tokenEvents) releaseRequest() uint64 {
	for _, evs := range [][]tokenEvent{t.first, t.last} {
		for _, e := range evs {
			if e.kind == evReleased {
				return e.req
			}
		}
	}
	return 0
}

// kept is the kept events in the order they were added.
func (t *tokenEvents) kept() []tokenEvent {
	out := make([]tokenEvent, 0, len(t.first)+len(t.last))
	out = append(out, t.first...)
	out = append(out, t.last[t.next:]...)
	return append(out, t.last[:t.next]...)
}

// note records an answered request on its token's record: the issue request's id, or
// a presentation. Called by writeAnswer once the request is journaled as id.
func (s *store) note(r *record, kind eventKind, id uint64, at int64, code Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == evIssued {
		r.issueReq = id
		return
	}
	if r.ev == nil {
		r.ev = &tokenEvents{}
	}
	r.ev.add(tokenEvent{at: at, req: id, kind: kind, code: codeIndex(code)})
}

// TokenEvent is one moment of a token's life.
type TokenEvent struct {
	Time    time.Time `json:"time"`              // mock clock
	Event   string    `json:"event"`             // issued, used, rejected, released, expired
	Request uint64    `json:"request,omitempty"` // the journal entry (none for expired)
	Code    string    `json:"code,omitempty"`    // a rejection's catalogue code, or the code a fault answered
}

// TokenTimeline is a token's fields (INTERFACE §3) and its events in time order.
type TokenTimeline struct {
	Token
	Uses       int `json:"uses"`       // accepted presentations (all, not only those kept)
	Rejections int `json:"rejections"` // presentations answered with an error
	// Omitted counts presentations between the first 16 and the last 16, not kept.
	Omitted int          `json:"omitted,omitempty"`
	Events  []TokenEvent `json:"events"`
}

// timeline is a token's timeline now; false when the store does not hold it.
func (s *store) timeline(value string) (TokenTimeline, bool) {
	d := keyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return TokenTimeline{}, false
	}
	now := s.now()
	tl := TokenTimeline{Token: r.public(value, now)}
	var kept []tokenEvent
	if r.ev != nil {
		kept = r.ev.kept()
		tl.Uses, tl.Rejections, tl.Omitted = r.ev.uses, r.ev.rejections, r.ev.total-len(kept)
	}
	// Concurrent presentations of one token are noted in the order their answers were
	// journaled; time, then journal id, is the order they happened in.
	slices.SortStableFunc(kept, func(a, b tokenEvent) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.req, b.req)) })
	tl.Events = make([]TokenEvent, 0, len(kept)+2)
	tl.Events = append(tl.Events, TokenEvent{Time: nanoTime(r.issued), Event: eventNames[evIssued], Request: r.issueReq})
	expired := tl.State == StateExpired
	exp := r.expiresAt()
	for _, e := range kept {
		if expired && e.at >= exp { // the expiry, at its exact moment, before what followed
			tl.Events = append(tl.Events, TokenEvent{Time: nanoTime(exp), Event: eventNames[evExpired]})
			expired = false
		}
		te := TokenEvent{Time: nanoTime(e.at), Event: eventNames[e.kind], Request: e.req}
		if e.code != 0 {
			te.Code = string(codeOf(e.code))
		}
		tl.Events = append(tl.Events, te)
	}
	if expired {
		tl.Events = append(tl.Events, TokenEvent{Time: nanoTime(exp), Event: eventNames[evExpired]})
	}
	return tl, true
}
