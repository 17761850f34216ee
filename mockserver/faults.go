package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/crmmock/crmmock/internal/tokens"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmmock/crmmock/internal/faults"
	"github.com/crmmock/crmmock/internal/ops"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"
)

// Faults (docs/faults-and-sandboxes.md): the set lives in internal/faults; the mock gathers a request's
// facts, asks the set once per request the contract accepted, and applies the firing.

// FaultSpec describes a fault (the body of POST /__admin/faults).
type FaultSpec = faults.Spec

// FaultMatch narrows a fault to a user, a Web API key or a token.
type FaultMatch = faults.Match

// FaultAnswer is the error a fault answers with.
type FaultAnswer = faults.Answer

// Fault is a fault with its id and counts (GET /__admin/faults).
type Fault = faults.Fault

// FaultForever is FaultSpec.Times for a fault that fires until deleted.
const FaultForever = faults.Forever

// MaxFaults is how many faults a mock and its sandboxes hold together, spent ones
// included; AddFault answers ErrTooManyFaults beyond it (HTTP 429).
const MaxFaults = faults.MaxFaults

// ErrTooManyFaults: the mock and its sandboxes hold MaxFaults faults.
var ErrTooManyFaults = faults.ErrTooMany

// faultBodyLimit caps a POST /__admin/faults body: a fault is a few hundred bytes.
const faultBodyLimit = 16 << 10

// AddFault adds a fault; errors name the bad field.
func (m *Mock) AddFault(spec FaultSpec) (Fault, error) {
	if err := m.contract().checkFaultOperation(spec.Operation); err != nil {
		return Fault{}, err
	}
	f, err := m.faults.Add(spec)
	if err != nil {
		return Fault{}, err
	}
	times := f.Times
	if times == FaultForever {
		times = 0 // as the control API writes it: until deleted
	}
	m.log.Info("fault added", "fault", f.ID, "operation", f.Operation, "after", f.After, "times", times)
	return f, nil
}

// Faults lists the faults, oldest first, with how often each fired.
func (m *Mock) Faults() []Fault { return m.faults.List() }

// DeleteFault drops one fault; false when there is none with that id.
func (m *Mock) DeleteFault(id string) bool {
	ok := m.faults.Delete(id)
	if ok {
		m.log.Info("fault deleted", "fault", id)
	}
	return ok
}

// ClearFaults drops every fault.
func (m *Mock) ClearFaults() {
	if n := m.faults.Clear(); n > 0 {
		m.log.Info("faults cleared", "count", n)
	}
}

// checkFaultOperation refuses a fault's "<resource>/<action>" that the contract's path
// parameters refuse: no request could ever match it (the fault set checks the shape).
func (c *apiContract) checkFaultOperation(op string) error {
	resource, action, ok := strings.Cut(op, "/")
	if !ok || c == nil || c.otherGet == nil || ops.IsFixed(op) {
		return nil
	}
	for _, p := range [...]struct{ name, value string }{{"resource", resource}, {"action", action}} {
		param := c.otherGet.PathItem.Parameters.GetByInAndName(openapi3.ParameterInPath, p.name)
		if param == nil {
			param = c.otherGet.Operation.Parameters.GetByInAndName(openapi3.ParameterInPath, p.name)
		}
		if param == nil || param.Schema == nil || param.Schema.Value == nil {
			continue
		}
		if err := param.Schema.Value.VisitJSON(p.value); err != nil {
			reason := err.Error()
			var se *openapi3.SchemaError
			if errors.As(err, &se) {
				reason = se.Reason
			}
			return fmt.Errorf("operation: %q is no Web API method the contract accepts, so no request would match it (%s %q: %s)", clip(op), p.name, clip(p.value), reason)
		}
	}
	return nil
}

// faultRequest gathers what faults match on, and the record of the presented token
// when the store holds it. operation is the request's Web API method name (see
// operationName). It runs only while faults exist.
func (m *Mock) faultRequest(r *http.Request, op *ops.Op, operation string, body []byte, query url.Values, wd *world) (faults.Request, *record) {
	fr := faults.Request{Operation: operation}
	var fields struct {
		Username string `json:"username"`
		Token    string `json:"token"`
	}
	if r.Method == http.MethodPost && len(body) > 0 {
		_ = json.Unmarshal(body, &fields) // the contract accepted it; a field of another type stays empty
	}
	switch op.Kind {
	case ops.UserLogin:
		fr.User = fields.Username
	case ops.KeyLogin:
		if key, _, aerr := basicKey(r.Header.Get("Authorization")); aerr == nil {
			fr.Key = key
			if k := wd.keys[key]; k != nil {
				fr.User = k.user.username
			}
		}
	case ops.ConsumerLogin:
		if key, _, aerr := basicKey(r.Header.Get("Authorization")); aerr == nil {
			fr.Key = key
		}
	}
	switch op.Token {
	case ops.BodyToken:
		fr.Token = fields.Token
	case ops.QueryToken:
		fr.Token = query.Get("token")
	}
	var rec *record
	if fr.Token != "" {
		if rec = m.tokens.Holding(fr.Token); rec != nil {
			fr.User = rec.Owner().user.username
			switch a := rec.Owner().app; {
			case a != nil && a.key != nil:
				fr.Key = a.key.key
			case a != nil && a.ckey != nil:
				fr.Key = a.ckey.key
			}
		}
	}
	return fr, rec
}

// fault asks the fault set about an accepted request and applies a delay. It returns
// the id of the fault that fired ("" when none did) and, when the fault decides the
// answer, that answer (base, the request's answer so far, with the fault's effect); a
// fault that only delays lets the request be answered normally.
func (m *Mock) fault(w http.ResponseWriter, r *http.Request, op *ops.Op, body []byte, query url.Values, wd *world, base answer) (string, *answer) {
	fr, rec := m.faultRequest(r, op, base.operation, body, query, wd)
	f, ok := m.faults.Fire(fr)
	if !ok {
		return "", nil
	}
	m.log.Info("fault fired", "fault", f.ID, "operation", clipAt(fr.Operation, journalTextLimit), "method", r.Method, "path", clipAt(r.URL.Path, journalTextLimit),
		"answer", faultEffect(f), "mock_time", m.clock.Now().UTC().Format(time.RFC3339Nano), "token", shortToken(fr.Token))
	a := base
	a.fault, a.presented = f.ID, fr.Token
	if f.Delay > 0 {
		if r.Method == http.MethodGet && r.Body != nil {
			// net/http notices a client that went away only once the body is read to
			// its end; a GET's body is read by nothing else (a POST's was, by readBody).
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, m.bodyLimit))
		}
		// The server's write deadline (WriteTimeout) counts from the request: the delay
		// must not spend it, or the answer after it would be lost. Deadlines of a
		// connection are OS time, whatever clock the delay runs on.
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		switch m.wait(r.Context(), f.Delay) {
		case waitGone:
			a.unanswered = fmt.Sprintf("the client went away during the %s delay of fault %s", f.Delay, f.ID)
			return f.ID, &a
		case waitClosed:
			m.log.Info("fault delay cut short: the mock is closing", "fault", f.ID, "delay", f.Delay.String())
		}
		_ = rc.SetWriteDeadline(time.Now().Add(DefaultWriteTimeout))
	}
	switch {
	case f.Drop:
		a.drop, a.injected = true, true
		return f.ID, &a
	case f.Answer != nil:
		a.injected = true
		a.message = f.Answer.Message
		a.err = &apiError{Code: Code(f.Answer.Code), HTTP: f.Answer.HTTPStatus,
			Description: fmt.Sprintf("injected by fault %s (POST /__admin/faults)", f.ID)}
		if rec != nil { // the token's timeline shows the rejection the client saw
			a.rec, a.ev, a.at = rec, tokens.EvRejected, m.nowNano()
		}
		return f.ID, &a
	}
	return f.ID, nil
}

func faultEffect(f faults.Firing) string {
	var parts []string
	if f.Delay > 0 {
		parts = append(parts, "delay "+f.Delay.String())
	}
	switch {
	case f.Drop:
		parts = append(parts, "drop connection")
	case f.Answer != nil:
		parts = append(parts, f.Answer.Code)
	default:
		parts = append(parts, "normal answer")
	}
	return strings.Join(parts, ", ")
}

// How a fault's delay ended.
const (
	waitDone   = iota // the delay passed
	waitGone          // the client went away first
	waitClosed        // the mock (or a sandbox's root) was closed first: see Close
)

// wait sleeps d of wall time, holding nothing, unless the client goes or the mock is
// closed first.
func (m *Mock) wait(ctx context.Context, d time.Duration) int {
	select { // a closed mock starts no timer
	case <-m.closed:
		return waitClosed
	case <-m.rootDone:
		return waitClosed
	default:
	}
	t := m.wall.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return waitDone
	case <-ctx.Done():
		return waitGone
	case <-m.closed:
		return waitClosed
	case <-m.rootDone:
		return waitClosed
	}
}

// dropConnection closes the client's connection without an answer, through the
// server's hijacker. A connection that cannot be hijacked (HTTP/2, a recorder) gets
// INTERNAL_ERROR saying so.
func (m *Mock) dropConnection(w http.ResponseWriter, r *http.Request, a answer, s *snapshot) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		a.drop = false
		a.err = errorf(CodeInternal, "fault %s: drop_connection: this connection cannot be dropped (%v)", a.fault, err)
		m.writeAnswer(w, r, "", a, s)
		return
	}
	m.journalUnanswered(r, a, "connection dropped by fault "+a.fault, s)
	_ = conn.Close()
}

// journalUnanswered records a request that got no answer (dropped, or the client
// left): HTTP status 0, no status.code, the reason as the description.
func (m *Mock) journalUnanswered(r *http.Request, a answer, reason string, s *snapshot) {
	m.record(r, a, 0, &envelopeStatus{Description: reason}, s)
}

// Control API: /__admin/faults.

func (m *Mock) postFault(w http.ResponseWriter, r *http.Request) {
	body, ok := readAdminBody(w, r, faultBodyLimit, "a fault")
	if !ok {
		return
	}
	spec, err := faults.ParseSpec(body)
	if err != nil {
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	f, err := m.AddFault(spec)
	switch {
	case errors.Is(err, ErrTooManyFaults):
		adminError(w, http.StatusTooManyRequests, "%v", err)
		return
	case err != nil:
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

func (m *Mock) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSONList(w, "faults", m.Faults())
}

func (m *Mock) deleteFaults(w http.ResponseWriter, _ *http.Request) {
	m.ClearFaults()
	writeJSON(w, http.StatusOK, map[string]any{"faults": []Fault{}})
}

func (m *Mock) deleteFault(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if !m.DeleteFault(id) {
		adminError(w, http.StatusNotFound, "no fault %q (GET /__admin/faults lists them)", clip(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": id})
}

// Control API: token faults (docs/faults-and-sandboxes.md), on the store's ExpireToken, RevokeToken
// and RevokeAllTokens.

func (m *Mock) expireToken(w http.ResponseWriter, r *http.Request) {
	tok := mux.Vars(r)["token"]
	switch err := m.ExpireToken(tok); {
	case errors.Is(err, ErrUnknownToken):
		m.tokenNotHeld(w, tok)
		return
	case errors.Is(err, ErrTokenReleased):
		adminError(w, http.StatusConflict, "token: %q was released; a released token cannot expire", clip(tok))
		return
	case err != nil:
		adminError(w, http.StatusBadRequest, "token: %v", err)
		return
	}
	t, _ := m.Token(tok)
	writeJSON(w, http.StatusOK, t)
}

func (m *Mock) revokeToken(w http.ResponseWriter, r *http.Request) {
	tok := mux.Vars(r)["token"]
	if err := m.RevokeToken(tok); err != nil {
		m.tokenNotHeld(w, tok)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": tok})
}

func (m *Mock) revokeAllTokens(w http.ResponseWriter, _ *http.Request) {
	n := m.tokens.Held()
	m.RevokeAllTokens()
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}
