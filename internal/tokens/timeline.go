package tokens

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A token's timeline (docs/lint.md): the store keeps, per presented token, the first
// and the last eventKeep presentations and counts; a token never presented keeps none.

const eventKeep = 16

// EventKind is what a request was in a token's life.
type EventKind uint8

const (
	EvNone EventKind = iota
	EvIssued
	EvUsed
	EvRejected
	EvReleased
	evExpired
)

var eventNames = [...]string{EvIssued: "issued", EvUsed: "used", EvRejected: "rejected", EvReleased: "released", evExpired: "expired"}

// event is one presentation, compact: most tokens of a load test have one or two.
type event struct {
	at   int64  // mock clock, Unix nanoseconds
	req  uint64 // journal id
	kind EventKind
	code uint8 // index in the code table; 0 for none
}

// codes interns the codes events carry (the catalogue's, preloaded by the mock, then
// those of faults that answer outside it: F21, any string), so an event stays one
// byte: up to 255 codes in all per process; a later one shows as no code. Readers
// scan the current list without the lock; a new code copies it.
var codes struct {
	sync.Mutex
	list atomic.Pointer[[]string]
}

// InternCodes numbers cs first (the mock's catalogue): they always fit.
func InternCodes(cs ...string) {
	for _, c := range cs {
		codeIndex(c)
	}
}

func codeIndex(c string) uint8 {
	if c == "" {
		return 0
	}
	if l := codes.list.Load(); l != nil {
		if i := slices.Index(*l, c); i >= 0 {
			return uint8(i + 1)
		}
	}
	codes.Lock()
	defer codes.Unlock()
	var l []string
	if p := codes.list.Load(); p != nil {
		l = *p
	}
	if i := slices.Index(l, c); i >= 0 {
		return uint8(i + 1)
	}
	if len(l) >= 255 {
		return 0
	}
	l = append(slices.Clip(l), c)
	codes.list.Store(&l)
	return uint8(len(l))
}

// codeOf is the code an event's index stands for.
func codeOf(i uint8) string {
	if i == 0 {
		return ""
	}
	return (*codes.list.Load())[i-1]
}

type events struct {
	first      []event // up to eventKeep
	last       []event // a ring of up to eventKeep, once first is full
	next       int     // where the ring writes next
	total      int
	uses       int
	rejections int
}

func (t *events) add(e event) {
	t.total++
	switch e.kind {
	case EvUsed:
		t.uses++
	case EvRejected:
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
func (t *events) releaseRequest() uint64 {
	for _, evs := range [][]event{t.first, t.last} {
		for _, e := range evs {
			if e.kind == EvReleased {
				return e.req
			}
		}
	}
	return 0
}

// kept is the kept events in the order they were added.
func (t *events) kept() []event {
	out := make([]event, 0, len(t.first)+len(t.last))
	out = append(out, t.first...)
	out = append(out, t.last[t.next:]...)
	return append(out, t.last[:t.next]...)
}

// Note records an answered request on its token's record: the issue request's id, or
// a presentation at the moment at, answered with code ("" for none). Called once the
// request is journaled as id.
func (s *Store[O]) Note(r *Record[O], kind EventKind, id uint64, at int64, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == EvIssued {
		r.issueReq = id
		return
	}
	if r.ev == nil {
		r.ev = &events{}
	}
	r.ev.add(event{at: at, req: id, kind: kind, code: codeIndex(code)})
}

// EventsKept is how many events r's timeline keeps (first, last) and what their
// lists can hold; listed is false for a token never presented, which has no lists.
func (s *Store[O]) EventsKept(r *Record[O]) (first, last, capacity int, listed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ev == nil {
		return 0, 0, 0, false
	}
	return len(r.ev.first), len(r.ev.last), cap(r.ev.first) + cap(r.ev.last), true
}

// EventKeep is how many presentations a timeline keeps at each end.
const EventKeep = eventKeep

// Event is one moment of a token's life.
type Event struct {
	Time    time.Time `json:"time"`              // mock clock
	Event   string    `json:"event"`             // issued, used, rejected, released, expired
	Request uint64    `json:"request,omitempty"` // the journal entry (none for expired)
	Code    string    `json:"code,omitempty"`    // a rejection's catalogue code, or the code a fault answered
}

// Timeline is a token's fields (docs/control-api.md) and its events in time order.
type Timeline struct {
	Token
	Uses       int `json:"uses"`       // accepted presentations (all, not only those kept)
	Rejections int `json:"rejections"` // presentations answered with an error
	// Omitted counts presentations between the first 16 and the last 16, not kept.
	Omitted int     `json:"omitted,omitempty"`
	Events  []Event `json:"events"`
}

// Timeline is a token's timeline now; false when the store does not hold it.
func (s *Store[O]) Timeline(value string) (Timeline, bool) {
	d := KeyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return Timeline{}, false
	}
	now := s.now()
	tl := Timeline{Token: r.public(value, now)}
	var kept []event
	if r.ev != nil {
		kept = r.ev.kept()
		tl.Uses, tl.Rejections, tl.Omitted = r.ev.uses, r.ev.rejections, r.ev.total-len(kept)
	}
	// Concurrent presentations of one token are noted in the order their answers were
	// journaled; time, then journal id, is the order they happened in.
	slices.SortStableFunc(kept, func(a, b event) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.req, b.req)) })
	tl.Events = make([]Event, 0, len(kept)+2)
	tl.Events = append(tl.Events, Event{Time: nanoTime(r.issued), Event: eventNames[EvIssued], Request: r.issueReq})
	expired := tl.State == StateExpired
	exp := r.expiresAt()
	for _, e := range kept {
		if expired && e.at >= exp { // the expiry, at its exact moment, before what followed
			tl.Events = append(tl.Events, Event{Time: nanoTime(exp), Event: eventNames[evExpired]})
			expired = false
		}
		te := Event{Time: nanoTime(e.at), Event: eventNames[e.kind], Request: e.req}
		if e.code != 0 {
			te.Code = codeOf(e.code)
		}
		tl.Events = append(tl.Events, te)
	}
	if expired {
		tl.Events = append(tl.Events, Event{Time: nanoTime(exp), Event: eventNames[evExpired]})
	}
	return tl, true
}
