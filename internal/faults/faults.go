// Package faults is the fault set of one mock instance (docs/faults-and-sandboxes.md): which Web API
// requests to answer with an error, slow down or drop, and how often each fault fired.
//
// The mock asks the set once per request the contract accepts (Set.Fire) and applies
// the Firing it gets back; the set knows nothing of HTTP, tokens or the envelope.
package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmmock/crmmock/internal/ops"
)

// OpAny matches every Web API method. A fault's operation is otherwise a Web API
// method name: a fixed one of internal/ops's table, or "<resource>[/<sub>…]/<action>".
const OpAny = "*"

// Forever is Spec.Times for a fault that fires until it is deleted (JSON "times": 0).
const Forever = -1

// MaxFaults is how many faults a set holds, spent ones included, together with the
// sets it shares its count with (a root mock's and its sandboxes'): Set.Add answers
// ErrTooMany beyond it. A fault may take up to a 16 KiB body, so this bounds the
// faults of a process to about 160 MB, however many sandboxes hold them.
const MaxFaults = 10_000

// ErrTooMany: the set holds MaxFaults faults.
var ErrTooMany = errors.New("too many faults")

// DefaultCode is the answer of a fault that names none and neither delays nor drops.
const DefaultCode = "INTERNAL_ERROR"

// Spec describes a fault. Its JSON form is the body of POST /__admin/faults.
type Spec struct {
	// Operation: a Web API method name (ops.UserToken, ops.KeyToken, ops.Release, …,
	// "<resource>[/<sub>…]/<action>") or OpAny.
	Operation string
	// Match narrows the requests; empty fields match anything.
	Match Match
	// After lets this many matching requests through before the fault fires.
	After int
	// Times is how often the fault fires: 0 means the default, 1; Forever: until deleted.
	Times int
	// Answer is the error to answer with. Nil: DefaultCode, unless the fault only delays
	// (then the request is answered normally, late) or drops the connection.
	Answer *Answer
	// Delay holds the request this long (wall time) before it is answered.
	Delay time.Duration
	// DropConnection closes the connection without an answer.
	DropConnection bool
}

// Match narrows a fault to a user, a Web API key or a token. (The yaml tags are for
// scenario scripts, whose fault steps carry the same body.)
type Match struct {
	// User: the username of a login, the user of a Web API key login, or the user a
	// presented token was issued to.
	User string `json:"user,omitempty" yaml:"user,omitempty"`
	// Key: the Basic key of a key login, or the key that issued a presented token.
	Key string `json:"key,omitempty" yaml:"key,omitempty"`
	// Token: the token presented, verbatim.
	Token string `json:"token,omitempty" yaml:"token,omitempty"`
}

// Answer is the error envelope a fault answers with.
type Answer struct {
	// Code is the status.code: any string but OK, a catalogue code or a real
	// installation's (F21: COM.CRM.EXCEPTION.AUTH.INVALIDLOGINEXCEPTION), at most MaxCodeLen bytes.
	Code    string `json:"code" yaml:"code,omitempty"`
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
	// HTTPStatus, when set, is the HTTP status regardless of --error-status.
	HTTPStatus int `json:"http_status,omitempty" yaml:"http_status,omitempty"`
}

// wireSpec is Spec's JSON form: Go durations as text, "times": 0 for Forever and an
// absent "times" for the default.
type wireSpec struct {
	Operation      string  `json:"operation"`
	Match          Match   `json:"match"`
	After          int     `json:"after"`
	Times          *int    `json:"times,omitempty"`
	Answer         *Answer `json:"answer,omitempty"`
	Delay          string  `json:"delay,omitempty"`
	DropConnection bool    `json:"drop_connection,omitempty"`
}

// MarshalJSON writes the control API's form.
func (s Spec) MarshalJSON() ([]byte, error) {
	w := wireSpec{Operation: s.Operation, Match: s.Match, After: s.After, Answer: s.Answer, DropConnection: s.DropConnection}
	times := s.Times
	switch {
	case times == Forever:
		times = 0
	case times == 0:
		times = 1
	}
	w.Times = &times
	if s.Delay > 0 {
		w.Delay = s.Delay.String()
	}
	return json.Marshal(w)
}

// ParseSpec reads a POST /__admin/faults body strictly: unknown fields, bad types, a
// bad duration, negative counts, an unknown operation and a bad code are errors naming
// the field.
func ParseSpec(body []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&s); err != nil {
		var se *json.SyntaxError
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se) {
			return Spec{}, describeDecodeError(err)
		}
		return Spec{}, err // UnmarshalJSON's, naming the field
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Spec{}, errors.New("body: one JSON object expected, found more after it")
	}
	return s, s.check()
}

// UnmarshalJSON reads the control API's form strictly (unknown fields, bad types,
// negative times, bad durations are errors naming the field); the operation and the
// answer code are checked when the fault is added.
func (s *Spec) UnmarshalJSON(data []byte) error {
	var w wireSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return describeDecodeError(err)
	}
	out := Spec{Operation: w.Operation, Match: w.Match, After: w.After, Answer: w.Answer, DropConnection: w.DropConnection}
	if w.Times != nil {
		switch {
		case *w.Times < 0:
			return fmt.Errorf("times: %d is negative (0: until deleted)", *w.Times)
		case *w.Times == 0:
			out.Times = Forever
		default:
			out.Times = *w.Times
		}
	}
	if w.Delay != "" {
		d, err := time.ParseDuration(w.Delay)
		if err != nil {
			return fmt.Errorf("delay: %q is not a Go duration (e.g. 2s, 1500ms)", w.Delay)
		}
		if d < 0 {
			return fmt.Errorf("delay: %s is negative", w.Delay)
		}
		out.Delay = d
	}
	*s = out
	return nil
}

// jsonFieldType reads encoding/json's type errors; a number that does not fit comes
// as "number 1e2".
var jsonFieldType = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^json: cannot unmarshal (\S+)( \S+)? into Go struct field \S+?\.(\S+) of type (\S+)$`)
})

// describeDecodeError names the field of a JSON decoding error.
func describeDecodeError(err error) error {
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown field (want operation, match, after, times, answer, delay, drop_connection)", strings.Trim(f, `"`))
	}
	if m := jsonFieldType().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s: a JSON %s%s where %s is expected", m[3], m[1], m[2], m[4])
	}
	if errors.Is(err, io.EOF) {
		return errors.New("body: empty; want a JSON object with at least \"operation\"")
	}
	return fmt.Errorf("body: %s", strings.TrimPrefix(msg, "json: "))
}

// resourceAction is the shape of another Web API method's operation,
// <resource>[/<sub>…]/<action> (F19): two or more segments of the bytes the contract's
// path segments accept unescaped.
var resourceAction = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)+$`) })

// MaxCodeLen caps Answer.Code in bytes: the journal keeps the code of every answer.
const MaxCodeLen = 256

const wantOperation = "want " + ops.UserToken + ", " + ops.KeyToken + ", " + ops.Release + ", " +
	ops.ConsumerToken + ", " + ops.DeviceToken + ", <resource>[/<sub>…]/<action> or " + OpAny

// check validates a spec; errors name the field.
func (s *Spec) check() error {
	switch op := s.Operation; {
	case op == "":
		return errors.New("operation: missing; " + wantOperation)
	case op == OpAny, ops.IsFixed(op):
	case !resourceAction().MatchString(op):
		return fmt.Errorf("operation: %q is not a Web API method; %s", op, wantOperation)
	case strings.HasPrefix(op, "authentication/") && strings.Count(op, "/") > 1:
		// no other authentication method exists: none of those would ever match
		return fmt.Errorf("operation: %q is not a Web API method of the mock (the authentication methods are "+
			ops.UserToken+", "+ops.KeyToken+", "+ops.Release+", "+ops.ConsumerToken+" and "+ops.DeviceToken+")", op)
	}
	if s.After < 0 {
		return fmt.Errorf("after: %d is negative", s.After)
	}
	if s.Times < 0 && s.Times != Forever {
		return fmt.Errorf("times: %d is negative (0: until deleted)", s.Times)
	}
	if s.Delay < 0 {
		return fmt.Errorf("delay: %s is negative", s.Delay)
	}
	if a := s.Answer; a != nil {
		switch {
		case a.Code == "":
			return errors.New("answer.code: missing (e.g. INTERNAL_ERROR, or a real installation's COM.CRM.EXCEPTION.… code)")
		case a.Code == "OK":
			return errors.New(`answer.code: "OK" is the success code; a fault answers an error (any other code, e.g. INTERNAL_ERROR)`)
		case len(a.Code) > MaxCodeLen:
			return fmt.Errorf("answer.code: %d bytes; at most %d", len(a.Code), MaxCodeLen)
		case a.HTTPStatus != 0 && (a.HTTPStatus < 200 || a.HTTPStatus > 599):
			return fmt.Errorf("answer.http_status: %d is not an HTTP status from 200 to 599", a.HTTPStatus)
		case a.HTTPStatus == 204 || a.HTTPStatus == 304: // HTTP gives them no body (RFC 9110)
			return fmt.Errorf("answer.http_status: %d carries no body, so the client would never see the answer's code; use another status", a.HTTPStatus)
		}
		if s.DropConnection {
			return errors.New("drop_connection: a dropped connection has no answer; give answer or drop_connection, not both")
		}
	}
	return nil
}

// resolved fills the defaults in: Times 1, the default answer.
func (s Spec) resolved() Spec {
	if s.Times == 0 {
		s.Times = 1
	}
	if s.Answer == nil && !s.DropConnection && s.Delay == 0 {
		s.Answer = &Answer{Code: DefaultCode}
	}
	if s.Answer != nil {
		a := *s.Answer
		s.Answer = &a
	}
	return s
}

// Fault is a fault of the set as GET /__admin/faults lists it.
type Fault struct {
	ID string `json:"id"`
	Spec
	// Seen counts the matching requests that reached this fault; Fired, those it answered.
	Seen  int `json:"seen"`
	Fired int `json:"fired"`
	// Active is false once the fault has fired Times times.
	Active bool `json:"active"`
}

// MarshalJSON flattens the spec into the fault's object.
func (f Fault) MarshalJSON() ([]byte, error) {
	spec, err := f.Spec.MarshalJSON()
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		ID     string `json:"id"`
		Seen   int    `json:"seen"`
		Fired  int    `json:"fired"`
		Active bool   `json:"active"`
	}{f.ID, f.Seen, f.Fired, f.Active})
	if err != nil {
		return nil, err
	}
	// {"id":…,"active":…} + {"operation":…} → {"id":…,"active":…,"operation":…}
	out := append(head[:len(head)-1:len(head)-1], ',')
	return append(out, spec[1:]...), nil
}

// Request is what a fault is matched against: the facts of one Web API request the
// contract accepted.
type Request struct {
	Operation string // OpUserToken, OpKeyToken, OpRelease or "<resource>[/<sub>…]/<action>"
	User      string // login username, key login's user, or the presented token's user
	Key       string // key login's Basic key, or the key that issued the presented token
	Token     string // the token presented
}

// Firing is what a fault does to one request.
type Firing struct {
	ID     string
	Answer *Answer // nil: answer the request normally (after Delay)
	Delay  time.Duration
	Drop   bool
}

// Set is the faults of one mock. It is safe for concurrent use; Fire costs one atomic
// load while the set is empty.
type Set struct {
	mu     sync.Mutex
	faults []*Fault
	nextID int
	size   atomic.Int32  // len(faults), read without the lock by Armed
	shared *atomic.Int64 // the faults held by this set and those it shares with (Share)
}

// New returns an empty set.
func New() *Set { return &Set{shared: new(atomic.Int64)} }

// Share makes the set count its faults with other's (and every set sharing with
// other) against MaxFaults. Call it before the set holds faults.
func (s *Set) Share(other *Set) {
	s.mu.Lock()
	s.shared = other.shared
	s.mu.Unlock()
}

// Close drops every fault and leaves the shared count (a sandbox dropped): faults
// added later count only in this set.
func (s *Set) Close() {
	s.mu.Lock()
	s.clearLocked()
	s.shared = new(atomic.Int64)
	s.mu.Unlock()
}

// Armed reports whether the set holds any fault: the mock skips gathering a request's
// facts when it does not.
func (s *Set) Armed() bool { return s.size.Load() > 0 }

// Add checks a spec and adds it; it returns the new fault.
func (s *Set) Add(spec Spec) (Fault, error) {
	if err := spec.check(); err != nil {
		return Fault{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for { // other sets sharing the count add without this set's lock
		n := s.shared.Load()
		if n >= MaxFaults {
			return Fault{}, fmt.Errorf("%w: the limit of %d faults of the mock and its sandboxes together is reached (spent ones count); delete some (DELETE /__admin/faults/{id}) or all (DELETE /__admin/faults), here or in a sandbox, or delete a sandbox", ErrTooMany, MaxFaults)
		}
		if s.shared.CompareAndSwap(n, n+1) {
			break
		}
	}
	s.nextID++
	f := &Fault{ID: "f" + strconv.Itoa(s.nextID), Spec: spec.resolved(), Active: true}
	s.faults = append(s.faults, f)
	s.size.Store(int32(len(s.faults)))
	return *f, nil
}

// Len is how many faults the set holds, spent ones included.
func (s *Set) Len() int { return int(s.size.Load()) }

// List is every fault, oldest first, with its counts.
func (s *Set) List() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, len(s.faults))
	for i, f := range s.faults {
		out[i] = *f
	}
	return out
}

// Delete drops one fault; false when there is none with that id.
func (s *Set) Delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.faults, func(f *Fault) bool { return f.ID == id })
	if i < 0 {
		return false
	}
	s.faults = slices.Delete(s.faults, i, i+1)
	s.size.Store(int32(len(s.faults)))
	s.shared.Add(-1)
	return true
}

// Clear drops every fault; ids keep increasing.
func (s *Set) Clear() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clearLocked()
}

func (s *Set) clearLocked() int {
	n := len(s.faults)
	s.faults = nil
	s.size.Store(0)
	s.shared.Add(-int64(n))
	return n
}

// matches reports whether a fault applies to a request.
func (f *Fault) matches(r Request) bool {
	if f.Operation != OpAny && f.Operation != r.Operation {
		return false
	}
	m := f.Match
	return (m.User == "" || m.User == r.User) && (m.Key == "" || m.Key == r.Key) && (m.Token == "" || m.Token == r.Token)
}

// Fire finds the fault that answers r: the oldest active fault matching it whose
// `after` requests have gone through. Every active matching fault up to that one counts
// r as seen. Counting happens under the set's lock, so concurrent requests never fire a
// fault more than Times times.
func (s *Set) Fire(r Request) (Firing, bool) {
	if !s.Armed() {
		return Firing{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if !f.Active || !f.matches(r) {
			continue
		}
		f.Seen++
		if f.Seen <= f.After {
			continue
		}
		f.Fired++
		if f.Times != Forever && f.Fired >= f.Times {
			f.Active = false
		}
		return Firing{ID: f.ID, Answer: f.Answer, Delay: f.Delay, Drop: f.DropConnection}, true
	}
	return Firing{}, false
}
