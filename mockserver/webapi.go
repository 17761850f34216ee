package mockserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/tokens"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/routers"

	"github.com/crmmock/crmmock/internal/ops"
)

// answer is what a Web API handler returns; writeAnswer turns it into the envelope.
// It carries what the journal, the log and the token's timeline need.
type answer struct {
	data       any // nil with err; compactJSON or a value otherwise
	err        *apiError
	deprecated bool
	operation  string   // the contract operation as a Web API method name; empty when unrouted
	presented  string   // the token the request presented, verbatim
	issued     string   // the token this request issued
	principal  string   // a login's asker (see journal.Entry.Principal)
	misplaced  string   // where an issued token came when the contract's place had none
	lenient    []string // what was accepted only for leniency (JournalEntry.Lenient)
	fault      string   // the fault id that answered (or only delayed the answer)
	message    string   // a fault's status.message, over the catalogue's and the scenario's
	drop       bool     // a fault drops the connection: no answer
	injected   bool     // a fault gave the answer (or dropped it), not the handler
	unanswered string   // why the request gets no answer (the client went away)

	rec *record          // the token issued or presented, when the store holds it
	ev  tokens.EventKind // what this request was in rec's life
	at  int64            // when the store judged it (mock clock, Unix nanoseconds)
}

// envelope is the one shape of every Web API answer (F3, F4).
type envelope struct {
	Status envelopeStatus `json:"status"`
	Data   any            `json:"data"`
}

type envelopeStatus struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	Description string `json:"description"`
}

// emptyObject is the data of an answer that has none to give, boxed once.
var emptyObject any = compactJSON(`{}`)

// compactJSON is JSON known to be valid and compact (json.Marshal's output): the
// envelope writes it as it is. Held in an answer's data as an interface made once (a
// scenario method's answer, emptyObject), it costs a request no allocation.
type compactJSON []byte

// MarshalJSON is c itself.
func (c compactJSON) MarshalJSON() ([]byte, error) { return c, nil }

// writeAnswer is the only writer of the envelope: status, headers, scenario overrides
// of code and message, and the journal entry.
func (m *Mock) writeAnswer(w http.ResponseWriter, r *http.Request, rest string, a answer, s *snapshot) {
	wd := s.world
	env := envelope{Status: envelopeStatus{Code: string(CodeOK)}, Data: a.data}
	status := http.StatusOK
	if a.err != nil {
		env.Data = nil
		env.Status, status = m.failureStatus(a, rest, wd)
	} else if env.Data == nil {
		env.Data = emptyObject
	}
	buf := envelopeBuffers.Get().(*bytes.Buffer)
	defer putEnvelopeBuffer(buf)
	buf.Reset()
	err := encodeEnvelope(buf, env)
	body := buf.Bytes()
	if err != nil { // data came from a scenario and was checked on load; never expected
		body = []byte(`{"status":{"code":"INTERNAL_ERROR","message":"Internal error","description":"answer could not be encoded"},"data":null}`)
		status = http.StatusInternalServerError
		env.Status = envelopeStatus{Code: string(CodeInternal), Description: "answer could not be encoded"}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if a.deprecated {
		h.Set("Deprecation", "true") // F8: deprecated from R12.0.0
	}
	if a.err != nil && a.err.Allow != "" {
		h.Set("Allow", a.err.Allow)
	}
	m.record(r, a, status, &env.Status, s)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// failureStatus is a failed answer's envelope status and HTTP status: the catalogue's,
// then the scenario's entry for the failure class and for the code, field by field.
func (m *Mock) failureStatus(a answer, rest string, wd *world) (envelopeStatus, int) {
	status := a.err.status(m.mapped)
	st := envelopeStatus{Code: string(a.err.Code), Message: catalogue[a.err.Code].Message, Description: a.err.Description}
	class := a.err.Class
	if class == ClassInvalidToken && looksTruncated(a.presented, wd) {
		class = ClassTruncatedToken // the start of a token the mock issues
	}
	for _, k := range [...]Code{Code(class), a.err.Code} {
		o, ok := wd.errors[k]
		if !ok || k == "" {
			continue
		}
		if o.Code != "" && st.Code == string(a.err.Code) {
			st.Code = o.Code
		}
		if o.Message != "" && st.Message == catalogue[a.err.Code].Message {
			st.Message = o.Message
		}
		if o.Description != nil && st.Description == a.err.Description {
			st.Description = strings.ReplaceAll(*o.Description, "{method}", methodAsked(a.operation, rest))
		}
		if o.HTTPStatus != 0 && status == a.err.status(m.mapped) && !a.injected { // a fault's status is its own
			status = o.HTTPStatus
		}
	}
	if a.message != "" {
		st.Message = a.message
	}
	return st, status
}

// methodAsked is the Web API method a request asked for, as a description's {method}.
func methodAsked(operation, rest string) string {
	if operation != "" {
		return operation
	}
	return strings.TrimPrefix(rest, "/")
}

// recordPC is the program counter of record's request log line (see record).
var recordPC atomic.Uintptr

// record journals and logs an answer (before it is written: a client that has its
// answer finds its entry) under the release the request was answered under.
func (m *Mock) record(r *http.Request, a answer, status int, st *envelopeStatus, s *snapshot) {
	rel := &s.rel
	e := journal.Entry{Public: journal.Public{
		Time: m.clock.Now(), Method: r.Method, Path: r.URL.Path, Operation: a.operation, Status: status,
		Code: st.Code, Description: clipAt(st.Description, journalTextLimit), Version: rel.Name, Issued: a.issued,
		Fault: a.fault, Misplaced: a.misplaced, Lenient: a.lenient,
	}, Principal: a.principal, Catalogue: string(CodeOK), Profile: rel.Profile.Name, Injected: a.injected}
	// net/http slices the method and the URI out of the request line it read (up to
	// MaxHeaderBytes), and the path and the operation share that memory: when the line
	// (or, for a request handed to ServeHTTP in process, the path) is long, the entry
	// keeps its own copies, cut, never the line.
	if len(r.Method)+len(r.RequestURI)+len(e.Path) > journalTextLimit {
		e.Method = strings.Clone(clipAt(e.Method, journalTextLimit))
		e.Path = strings.Clone(clipAt(e.Path, journalTextLimit))
		e.Operation = strings.Clone(clipAt(e.Operation, journalTextLimit))
	}
	switch {
	case a.presented == "":
	case a.rec != nil && a.rec.Opaque() == a.presented:
		e.Token = a.rec.Opaque() // the store's own copy of an opaque token: no allocation
	default:
		e.Token = cutToken(a.presented)
	}
	level, msg := slog.LevelInfo, "request"
	if a.err != nil {
		e.Catalogue = string(a.err.Code)
		e.Message = clipAt(st.Message, journalTextLimit) // the catalogue's, the scenario's or a fault's: no copy
		if a.err.Violation {
			e.Violations = []string{e.Description}
			level, msg = slog.LevelWarn, "contract violation"
		}
	}
	id := m.journal.Add(e)
	if a.rec != nil && a.ev != tokens.EvNone {
		m.tokens.Note(a.rec, a.ev, id, a.at, eventCode(Code(e.Catalogue)))
	}
	if ctx := r.Context(); m.log.Enabled(ctx, level) { // no formatting when the level is off
		tok := a.presented
		if a.issued != "" {
			tok = a.issued
		}
		// the method, path and reason as the journal keeps them: cut at 2 KiB, so one
		// hostile request is never a 100 KB log line. The record is built here rather
		// than by LogAttrs, which looks up its caller's frame for every line (a tenth of
		// the line's cost under load): the frame, which a handler with AddSource shows,
		// is this one, found once; its time is the instance's wall.
		pc := recordPC.Load()
		if pc == 0 {
			var pcs [1]uintptr
			runtime.Callers(1, pcs[:])
			pc = pcs[0]
			recordPC.Store(pc)
		}
		rec := slog.NewRecord(m.wall.Now(), level, msg, pc)
		rec.AddAttrs(slog.Uint64("id", id), slog.String("method", e.Method), slog.String("path", e.Path),
			slog.String("code", st.Code), slog.String("reason", e.Description),
			slog.String("mock_time", e.Time.UTC().Format(time.RFC3339Nano)), slog.String("token", shortToken(tok)))
		_ = m.log.Handler().Handle(ctx, rec)
	}
}

var envelopeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putEnvelopeBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 { // a huge answer's buffer is left to the collector
		envelopeBuffers.Put(b)
	}
}

// encodeEnvelope writes env exactly as a json.Encoder with SetEscapeHTML(false) does
// (final newline included; TestEncodeEnvelopeMatchesEncoder holds it to that),
// without reflection for the shapes the handlers answer.
func encodeEnvelope(buf *bytes.Buffer, env envelope) error {
	buf.WriteString(`{"status":{"code":`)
	writeJSONString(buf, env.Status.Code)
	buf.WriteString(`,"message":`)
	writeJSONString(buf, env.Status.Message)
	buf.WriteString(`,"description":`)
	writeJSONString(buf, env.Status.Description)
	buf.WriteString(`},"data":`)
	switch d := env.Data.(type) {
	case nil:
		buf.WriteString("null")
	case compactJSON:
		buf.Write(d)
	case tokenData:
		buf.WriteString(`{"token":`)
		writeJSONString(buf, d.Token)
		buf.WriteByte('}')
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteString("}\n")
	return nil
}

// writeJSONString writes s as a JSON string, as encoding/json does without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			enc := json.NewEncoder(buf) // escapes, control bytes, non-ASCII: encoding/json's rules
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			buf.Truncate(buf.Len() - 1)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

// maxQueryParams is net/url's limit: above it ParseQuery parses no parameter at all.
const maxQueryParams = 10000

// serveAPI answers a Web API request whose path below the base path is rest.
// The release and fixtures are read once, as one snapshot, and carried with the
// answer: a switch while the request is in flight (a delay fault) changes neither its
// answer nor its journal entry.
func (m *Mock) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	s := m.snap.Load()
	a := m.handleAPI(w, r, rest, s)
	switch {
	case a.drop:
		m.dropConnection(w, r, a, s)
	case a.unanswered != "":
		m.journalUnanswered(r, a, a.unanswered, s)
	default:
		m.writeAnswer(w, r, rest, a, s)
	}
}

// opRequest is a request the contract accepted, as a handler reads it. It is passed
// by value and holds no *http.Request: what a handler called through the table gets
// escapes to the heap, and a sandbox's request copy would then cost an allocation.
type opRequest struct {
	method string
	header http.Header
	rest   string     // the path below the base path
	op     *ops.Op    // the contract operation's row
	body   []byte     // as the contract accepted it (leniency applied)
	parsed any        // body as the validator decoded it, when a body check passed it (else nil)
	query  url.Values // parsed once; nil when the URL has none
	rel    *Release
	wd     *world
	now    time.Time // after any fault's delay
}

// handlers answers each kind of operation of internal/ops's table.
var handlers = [ops.Kinds]func(m *Mock, q opRequest) answer{
	ops.UserLogin:     func(m *Mock, q opRequest) answer { return m.userToken(q.body, q.parsed, q.rel, q.wd, q.now) },
	ops.KeyLogin:      func(m *Mock, q opRequest) answer { return m.keyToken(q.header, q.body, q.rel, q.wd, q.now) },
	ops.TokenRelease:  func(m *Mock, q opRequest) answer { return m.releaseToken(q.body) },
	ops.OTP:           func(m *Mock, q opRequest) answer { return m.generateOTP(q.body, q.wd, q.now) },
	ops.ConsumerLogin: func(m *Mock, q opRequest) answer { return m.consumerToken(q.header, q.body, q.rel, q.wd, q.now) },
	ops.DeviceLogin:   func(m *Mock, q opRequest) answer { return m.deviceToken(q.body, q.rel, q.wd, q.now) },
	ops.Other:         (*Mock).otherOp,
}

// handlerOf is the handler of an operation; nil when it has none (an operation of an
// edited contract that the table lacks).
func handlerOf(o *ops.Op) func(m *Mock, q opRequest) answer {
	if o.Kind >= ops.Kinds {
		return nil
	}
	return handlers[o.Kind]
}

// handleAPI admits a Web API request (route, availability, body, leniency, the
// contract's validation, the release's parameters), lets a fault answer it, and
// otherwise hands it to its operation's handler.
func (m *Mock) handleAPI(w http.ResponseWriter, r *http.Request, rest string, s *snapshot) answer {
	q, avail, a := m.admit(r, rest, s)
	if a.err != nil {
		return a
	}
	if m.faults.Armed() {
		faultID, fa := m.fault(w, r, q.op, q.body, q.query, q.wd, a)
		if fa != nil {
			return *fa
		}
		a.fault = faultID // a fault that only delayed: the normal answer carries its id
	}
	handle := handlerOf(q.op)
	if handle == nil {
		a.err = errorf(CodeInternal, "operation %q has no handler", q.op.ID)
		return a
	}
	q.now = m.clock.Now() // after any delay
	h := handle(m, q)
	h.operation, h.fault = a.operation, a.fault
	if a.lenient != nil {
		h.lenient = append(a.lenient, h.lenient...)
	}
	h.deprecated = avail == Deprecated && h.err == nil
	return h
}

// admit checks a Web API request against the contract and the release: the answer
// so far carries an error when the request is refused, else its operation's name and
// what only leniency let through.
func (m *Mock) admit(r *http.Request, rest string, s *snapshot) (opRequest, Availability, answer) {
	q := opRequest{method: r.Method, header: r.Header, rest: rest, rel: &s.rel, wd: s.world}
	routed, route, params, aerr := m.contract().route(r, rest)
	if aerr != nil {
		return q, 0, answer{err: aerr}
	}
	q.op = ops.ByID(route.Operation.OperationID)
	if q.op == nil { // an edited contract's operation: answered "no handler" once admitted
		q.op = &ops.Op{ID: route.Operation.OperationID, Kind: ops.Kinds}
	}
	a := answer{operation: operationName(q.op, rest)}
	avail, opRel := m.contract().availability(q.op.ID, q.rel)
	if avail == NotAvailable {
		a.err = errorf(CodeNotAvailable, "%s is not available in %s (from %s)", strings.TrimPrefix(rest, "/"), q.rel.Name, opRel.from.Name).classed(ClassMethodNotAvailable)
		return q, avail, a
	}
	if q.body, a.err = m.readBody(r); a.err != nil {
		return q, avail, a
	}
	routed, lenient := ease(routed, route, &q) // F20: noted once the contract accepts the request
	if r.URL.RawQuery != "" {
		q.query = r.URL.Query()
	}
	if len(q.query) == 0 && r.URL.RawQuery != "" { // net/url refuses a query of too many parameters whole
		if n := strings.Count(r.URL.RawQuery, "&") + 1; n > maxQueryParams {
			return q, avail, answer{err: &apiError{Code: CodeInvalidRequest, Violation: true,
				Description: fmt.Sprintf("query: too many query parameters (%d; at most %d)", n, maxQueryParams)}}
		}
	}
	if q.op.Kind == ops.UserLogin {
		if a.err = loginCredentialsMissing(q.body); a.err != nil {
			return q, avail, a
		}
	}
	if q.parsed, a.err = m.contract().validate(r.Context(), routed, route, params, q.query, q.body); a.err != nil {
		m.explainRejected(&a, r, q.op, q.query, q.body) // the error path only
		return q, avail, a
	}
	if a.err = opRel.checkParams(q.body, q.rel); a.err != nil {
		return q, avail, a
	}
	a.lenient = lenient
	return q, avail, a
}

// ease applies the leniency real clients rely on (F20) and the scenario allows to a
// request before the contract judges it: a JSON media type spelled loosely (or, when
// the scenario says so, none), organization for organisation, null optional fields.
// It answers the request as eased (a copy where it changed one) and what only leniency
// let through.
func ease(routed *http.Request, route *routers.Route, q *opRequest) (*http.Request, []string) {
	var lenient []string
	if q.method == http.MethodPost {
		ct := routed.Header.Get("Content-Type")
		switch mt, sloppy := jsonMediaType(ct); {
		case ct == "application/json": // the common case: nothing to do
		case ct == "" && q.wd.lenientCT, mt != "":
			eased := *routed // routed may be the server's request, and shares its headers
			eased.Header = routed.Header.Clone()
			eased.Header.Set("Content-Type", "application/json")
			routed = &eased
			if sloppy && len(q.body) > 0 {
				lenient = append(lenient, leniencyMediaTypeCase+": "+clipAt(mt, 64))
			}
		}
	}
	if q.wd.orgSpelling && q.op.Kind == ops.UserLogin {
		q.body = respellOrganization(q.body)
	}
	if len(q.body) > 0 && bytes.Contains(q.body, jsonNull) {
		var dropped []string
		if q.body, dropped = dropNullOptional(q.body, route); len(dropped) > 0 {
			for _, f := range dropped {
				lenient = append(lenient, leniencyNullField+": "+f)
			}
		}
	}
	return routed, lenient
}

// otherOp is any other Web API method, its token in the query (GET) or the body (POST).
func (m *Mock) otherOp(q opRequest) answer {
	if q.op.Token == ops.QueryToken {
		return m.otherMethod(q.method, q.rest, q.query.Get("token"), q.wd)
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(q.body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: field \"token\": %v", err)}
	}
	return m.otherMethod(q.method, q.rest, req.Token, q.wd)
}

// operationName is a contract operation as a Web API method name (the journal's
// operation): a fixed operation by its name, any other method as <resource>/<action>.
func operationName(o *ops.Op, rest string) string {
	if o.Fixed() {
		return o.Name
	}
	return strings.TrimPrefix(rest, "/")
}

// explainRejected fills in, for a request the contract rejected, the token it
// presented and, when another Web API method lacks the token where the contract wants
// it (GET: query token; POST: body token), where an issued token came instead.
func (m *Mock) explainRejected(a *answer, r *http.Request, o *ops.Op, query url.Values, body []byte) {
	switch o.Token {
	case ops.QueryToken:
		a.presented = query.Get("token")
	case ops.BodyToken:
		a.presented = bodyToken(body)
	default:
		return
	}
	if a.presented == "" && o.Kind == ops.Other {
		a.misplaced = m.findMisplaced(r, o.Token == ops.BodyToken, query, body)
	}
}

// bodyToken is a JSON body's string field token, if any.
func bodyToken(body []byte) string {
	var req struct {
		Token any `json:"token"`
	}
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	s, _ := req.Token.(string)
	return s
}

// findMisplaced looks for a token the mock issued elsewhere in a request that lacks it
// where the contract wants it: the Authorization header (Bearer or raw), another
// header, the query of a POST, the body of a GET. It answers where, or "".
func (m *Mock) findMisplaced(r *http.Request, post bool, query url.Values, body []byte) string {
	if where := m.misplacedInHeaders(r.Header); where != "" {
		return where
	}
	if post {
		if m.anyIssued(query) {
			return "query of a POST"
		}
		return ""
	}
	if r.Body != nil { // a GET's body is not read on the way in: its first bodyLimit bytes are looked at
		var over bool
		if body, over, _ = readAtMost(r, m.bodyLimit); over {
			body = body[:m.bodyLimit]
		}
	}
	if m.issuedInBody(body) {
		return "body of a GET"
	}
	return ""
}

// issuedToken reports whether v, raw or after "Bearer ", is a token the mock holds.
func (m *Mock) issuedToken(v string) bool {
	v = strings.TrimSpace(v)
	if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
		v = strings.TrimSpace(rest)
	}
	return v != "" && m.tokens.Holding(v) != nil
}

// misplacedInHeaders names the header carrying an issued token: Authorization first,
// then the others in sorted order; "" when none does.
func (m *Mock) misplacedInHeaders(h http.Header) string {
	for _, v := range h.Values("Authorization") {
		if m.issuedToken(v) {
			return "Authorization header"
		}
	}
	names := make([]string, 0, len(h))
	for name := range h {
		if name != "Authorization" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range h[name] {
			if m.issuedToken(v) {
				return "header " + name
			}
		}
	}
	return ""
}

// anyIssued reports whether any value of a query or form is an issued token.
func (m *Mock) anyIssued(values url.Values) bool {
	for _, vs := range values {
		for _, v := range vs {
			if m.issuedToken(v) {
				return true
			}
		}
	}
	return false
}

// issuedInBody reports whether a GET's body is, or holds as a JSON string field or a
// form value, an issued token.
func (m *Mock) issuedInBody(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	if m.issuedToken(string(body)) {
		return true
	}
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		for _, v := range fields {
			if s, ok := v.(string); ok && m.issuedToken(s) {
				return true
			}
		}
		return false
	}
	form, err := url.ParseQuery(string(body))
	return err == nil && m.anyIssued(form)
}

// respellOrganization renames a login body's `organization` to `organisation` (F14),
// when the scenario asks for it and the body has only the former.
func respellOrganization(body []byte) []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields["organization"] == nil || fields["organisation"] != nil {
		return body
	}
	fields["organisation"] = fields["organization"]
	delete(fields, "organization")
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}

// presizedBodyMax caps the buffer readAtMost makes before a body's bytes arrive:
// memory follows the bytes a client sends, not the size it announces (a Content-Length
// of the body limit and no body cost a MiB held until the read timeout). Web API and
// control bodies are far smaller; a larger one grows as it arrives.
const presizedBodyMax = 16 << 10

// readAtMost reads a request's body to its end, or to limit+1 bytes: over reports a
// body longer than limit. It reads whatever was announced (a request handed to
// ServeHTTP in process may carry a ContentLength that is not its body's) into one
// buffer for the common request: its announced size, capped at presizedBodyMax, plus
// the room the read that finds the end asks for. The Web API (readBody), the control
// API (readAdminBody) and the check of a GET's body (findMisplaced) read through it.
func readAtMost(r *http.Request, limit int64) (body []byte, over bool, err error) {
	if r.Body == nil {
		return nil, false, nil
	}
	var b bytes.Buffer
	if r.ContentLength > 0 {
		b.Grow(int(min(r.ContentLength, presizedBodyMax)) + bytes.MinRead)
	}
	_, err = b.ReadFrom(io.LimitReader(r.Body, limit+1))
	return b.Bytes(), int64(b.Len()) > limit, err
}

// readBody reads a Web API request's body (a GET's is not read): INVALID_REQUEST when
// it cannot be read, REQUEST_TOO_LARGE over the body limit, announced or sent.
func (m *Mock) readBody(r *http.Request) ([]byte, *apiError) {
	if r.Body == nil || r.Method == http.MethodGet {
		return nil, nil
	}
	tooLarge := func() *apiError { return errorf(CodeTooLarge, "request body: over the limit of %d bytes", m.bodyLimit) }
	if r.ContentLength > m.bodyLimit {
		return nil, tooLarge()
	}
	body, over, err := readAtMost(r, m.bodyLimit)
	if err != nil {
		return nil, errorf(CodeInvalidRequest, "request body: could not be read: %v", err)
	}
	if over {
		return nil, tooLarge()
	}
	return body, nil
}

// loginRequest is authentication/token's body (F2, F12).
type loginRequest struct {
	Username     string        `json:"username"`
	Password     string        `json:"password"`
	Organisation string        `json:"organisation"`
	Unit         *string       `json:"unit"`
	Identifier   *atIdentifier `json:"access_token_identifier"`
}

// loginFields are loginRequest's JSON names, read from its tags: a field added there is
// one takeParsed does not read, so a body naming it is left to json.Unmarshal.
var loginFields = func() []string {
	t := reflect.TypeFor[loginRequest]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}()

// decodeLogin reads a login body: from the validator's decoding when it has one and
// taking it surely gives what json.Unmarshal gives, else with json.Unmarshal. Surely:
// the body is one JSON value (the validator's decoder stops after the first), has no
// escape (so a name in the bytes is the name decoded), names each login field at most
// once (json.Unmarshal reads every duplicate into the field, and fails on a wrong type
// where a map keeps the last), and takeParsed accepts its keys and values.
// TestDecodeLoginAgreesWithUnmarshal and FuzzDecodeLogin hold it to json.Unmarshal.
func decodeLogin(body []byte, parsed any) (loginRequest, error) {
	var req loginRequest
	if obj, ok := parsed.(map[string]any); ok && bytes.IndexByte(body, '\\') < 0 && onceEach(body, obj) &&
		json.Valid(body) && req.takeParsed(obj) {
		return req, nil
	}
	req = loginRequest{}
	err := json.Unmarshal(body, &req)
	return req, err
}

// onceEach reports whether each login field obj has is named once in body.
func onceEach(body []byte, obj map[string]any) bool {
	var quoted [32]byte
	for _, f := range loginFields {
		if _, ok := obj[f]; ok && bytes.Count(body, append(append(append(quoted[:0], '"'), f...), '"')) != 1 {
			return false
		}
	}
	return true
}

// takeParsed fills req from a decoded body; false when json.Unmarshal might read it
// otherwise (req is then partly filled).
func (req *loginRequest) takeParsed(obj map[string]any) bool {
	for k, v := range obj {
		var into *string
		switch k {
		case "username":
			into = &req.Username
		case "password":
			into = &req.Password
		case "organisation":
			into = &req.Organisation
		case "unit":
			if v == nil {
				continue
			}
			req.Unit = new(string)
			into = req.Unit
		default:
			for _, f := range loginFields { // json.Unmarshal matches names in any case
				if strings.EqualFold(k, f) {
					return false
				}
			}
			for i := 0; i < len(k); i++ { // and folds some non-ASCII letters (ſ, K) to ASCII ones
				if k[i] >= 0x80 {
					return false
				}
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return false
		}
		*into = s
	}
	return true
}

// userToken is authentication/token (F2).
func (m *Mock) userToken(body []byte, parsed any, rel *Release, wd *world, now time.Time) answer {
	a, principal := m.userLogin(body, parsed, rel, wd, now)
	a.principal = principal
	return a
}

func (m *Mock) userLogin(body []byte, parsed any, rel *Release, wd *world, now time.Time) (answer, string) {
	req, err := decodeLogin(body, parsed)
	if err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}, ""
	}
	if req.Identifier != nil { // F12: an access token's credentials instead of username and password
		return m.accessTokenLogin(req.Identifier, req.Username != "" || req.Password != "", req.Organisation, req.Unit, rel, wd, now)
	}
	principal := clip(userPrincipal(req.Username, req.Organisation))
	g, ok := wd.orgs[req.Organisation]
	if !ok {
		return answer{err: errorf(CodeInvalidOrg, "organisation: %q is not a known organisation", req.Organisation).classed(ClassUnknownOrg)}, principal
	}
	u, ok := g.users[req.Username]
	if !ok {
		_ = subtle.ConstantTimeCompare([]byte(req.Password), []byte(req.Password)) // same work as a known user
		return answer{err: errorf(CodeInvalidCredentials, "username: %q is not a user of organisation %q", req.Username, req.Organisation).classed(ClassUnknownUser)}, principal
	}
	if subtle.ConstantTimeCompare([]byte(req.Password), []byte(u.password)) != 1 {
		return answer{err: errorf(CodeInvalidCredentials, "password: wrong password for user %q", req.Username).classed(ClassWrongPassword)}, principal
	}
	x, aerr := userUnit(u, req.Unit)
	if aerr != nil {
		return answer{err: aerr}, principal
	}
	return m.issue(nil, u, x, rel, wd, now), principal
}

// userUnit is the unit a user's token is issued in: the one asked for, if the user
// may use it, else the user's default unit (F2).
func userUnit(u *user, asked *string) (*unit, *apiError) {
	if asked == nil {
		return u.defaultUnit, nil
	}
	x, ok := u.org.units[*asked]
	if !ok {
		return nil, errorf(CodeInvalidUnit, "unit: %q is not a unit of organisation %q", *asked, u.org.name).classed(ClassUnknownUnit)
	}
	if !u.mayUse(x) {
		return nil, errorf(CodeInvalidUnit, "unit: user %q may not use unit %q", u.username, *asked).classed(ClassUnknownUnit)
	}
	return x, nil
}

// keyToken is authentication/web_api_key/token (F7): the key is the Basic username.
func (m *Mock) keyToken(header http.Header, body []byte, rel *Release, wd *world, now time.Time) answer {
	key, noColon, aerr := basicKey(header.Get("Authorization"))
	if aerr != nil {
		return answer{err: aerr}
	}
	var lenient []string // F20: journaled once the key is known (past the check it eased)
	if noColon {
		lenient = []string{leniencyBasicNoColon}
	}
	fail := func(e *apiError) answer { return answer{err: e, lenient: lenient} }
	k := findSecret(wd.keys, key)
	if k == nil {
		return answer{err: errorf(CodeInvalidKey, "Authorization: the Web API key is not known").classed(ClassUnknownKey), principal: keyPrincipal(key)}
	}
	var req struct {
		Unit *string `json:"unit"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return fail(errorf(CodeInvalidRequest, "request body: %v", err))
		}
	}
	x := k.user.defaultUnit // F7: the key's user's default unit
	if req.Unit != nil {
		var ok bool
		if x, ok = k.user.org.units[*req.Unit]; !ok {
			return fail(errorf(CodeInvalidUnit, "unit: %q is not a unit of organisation %q", *req.Unit, k.user.org.name).classed(ClassUnknownUnit))
		}
		if !k.mayUse(x) {
			return fail(errorf(CodeInvalidUnit, "unit: the Web API key may not use unit %q", *req.Unit).classed(ClassUnknownUnit))
		}
	} else if !k.mayUse(x) && k.first != nil {
		x = k.first // the first of the key's own units, as listed: never a map's order
	}
	a := m.issue(k, k.user, x, rel, wd, now)
	a.principal, a.lenient = keyPrincipal(key), lenient
	return a
}

// userPrincipal names a user's login in the journal and the lint: "user <name>@<org>"
// (a login's entry and the token it issued must name it alike).
func userPrincipal(username, org string) string { return "user " + username + "@" + org }

// keyPrincipal names a Web API key in the journal by its last 4 characters only.
func keyPrincipal(key string) string {
	if len(key) < 8 {
		return "key …"
	}
	return "key …" + strings.ToValidUTF8(key[len(key)-4:], "?")
}

// findSecret is the value a secret (a key, an authentication code) names, compared in
// constant time with every secret held, so that no timing tells how much of a guess
// was right; nil when none matches.
func findSecret[V any](bySecret map[string]*V, secret string) *V {
	guess := []byte(secret)
	var found *V
	for s, v := range bySecret {
		if subtle.ConstantTimeCompare([]byte(s), guess) == 1 {
			found = v
		}
	}
	return found
}

// basicKey reads the key from "Authorization: Basic base64(key:)" (F7). The scheme is
// case-insensitive (RFC 7235); a value without the colon is the key with an empty
// password, as real clients send it and production accepts it (F20): noColon says so.
func basicKey(h string) (key string, noColon bool, _ *apiError) {
	if h == "" {
		return "", false, errorf(CodeInvalidKey, "Authorization: missing; send the Web API key as the HTTP Basic username").classed(ClassUnknownKey)
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", false, errorf(CodeInvalidKey, "Authorization: not HTTP Basic").classed(ClassUnknownKey)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", false, errorf(CodeInvalidKey, "Authorization: the Basic credentials are not base64").classed(ClassUnknownKey)
	}
	key, pass, ok := strings.Cut(string(raw), ":")
	switch {
	case key == "":
		return "", false, errorf(CodeInvalidKey, "Authorization: the Web API key (Basic username) is empty").classed(ClassUnknownKey)
	case pass != "":
		return "", false, errorf(CodeInvalidKey, "Authorization: the Basic password must be empty").classed(ClassKeyWithPassword)
	}
	return key, !ok, nil
}

// issue mints a token under a release's rule and stores it: a user token, or a key
// token when k is set.
func (m *Mock) issue(k *apiKey, u *user, x *unit, rel *Release, wd *world, now time.Time) answer {
	o := owner{rel: rel, user: u, unit: x}
	if k != nil {
		o.app = &k.login
	}
	return m.issueRecord(o, wd, now)
}

// issueRecord mints a token of o (its release, user, unit and kind) and stores it.
func (m *Mock) issueRecord(o owner, wd *world, now time.Time) answer {
	var value string
	var r *record
	if o.rel.Profile.Format == FormatJWT {
		// iat is whole seconds: issued_at is the same second, so expires_at is exp exactly.
		iat := now.Unix()
		jti := randomID()
		o.jwt = wd.jwtShape
		var err error
		if value, err = mintJWT(m.secret, o.user, o.unit, iat, int64(o.Rule().After/time.Second), jti, o.jwt, o.app); err != nil {
			return answer{err: errorf(CodeInternal, "token: could not sign: %v", err)}
		}
		r = m.tokens.AddJWT(o, iat*int64(time.Second), jti, value)
	} else {
		value = wd.opaque.random() // F6, or the scenario's token shape
		r = m.tokens.AddOpaque(o, now.UnixNano(), value)
	}
	return answer{data: tokenData{Token: value}, issued: value, rec: r, ev: tokens.EvIssued}
}

type tokenData struct {
	Token string `json:"token"`
}

// checkToken judges a presented token and applies p when it is live. A token the
// store holds is found by exact match (a JWT by its SHA-256, with no signature check:
// the mock issued it); only a miss is examined further, to say why.
func (m *Mock) checkToken(value string, p tokens.Presentation) answer {
	a := answer{presented: value}
	if value == "" {
		a.err = errorf(CodeInvalidToken, "token: missing").classed(ClassInvalidToken)
		return a
	}
	d := tokens.KeyOf(value)
	r, at, j, found := m.tokens.Present(value, d, p)
	if found {
		a.rec, a.at, a.err = r, at, judgementError(j)
		switch {
		case a.err != nil:
			a.ev = tokens.EvRejected
		case p == tokens.Release:
			a.ev = tokens.EvReleased
		case p == tokens.Use:
			a.ev = tokens.EvUsed
		}
		return a
	}
	if why := m.tokens.EvictedWhy(value, d); why != "" {
		a.err = errorf(CodeInvalidToken, "%s", why).classed(ClassInvalidToken)
		return a
	}
	switch {
	case d != nil:
		if err := checkJWT(m.secret, value); err != nil {
			a.err = errorf(CodeInvalidToken, "%v", err)
		} else {
			a.err = errorf(CodeInvalidToken, "token: no such token was issued (a valid signature: issued before a reset or a revoke, dropped as long dead, or evicted too long ago to be remembered)")
		}
	case !jtiPattern().MatchString(value):
		a.err = errorf(CodeInvalidToken, "token: no such token was issued (malformed: neither 32 uppercase hex characters, as before R12, nor a three-part JWT, as from R12)")
	default:
		a.err = errorf(CodeInvalidToken, "token: no such token was issued")
	}
	a.err.Class = ClassInvalidToken // a token no one issued (writeAnswer tells a truncated one)
	return a
}

// looksTruncated tells whether an unknown token looks like the start of one the mock
// issues: a JWT with the mock's header cut before its signature ends, or an opaque
// token of the scenario's alphabet cut short.
func looksTruncated(value string, wd *world) bool {
	header := jwtHeader
	if wd != nil && wd.jwtShape != nil {
		header = wd.jwtShape.header
	}
	if rest, ok := strings.CutPrefix(value, header+"."); ok {
		if strings.Count(value, ".") != 2 {
			return true
		}
		_, sig, _ := strings.Cut(rest, ".")
		return len(sig) < base64.RawURLEncoding.EncodedLen(32) // an HS256 signature is 43 characters
	}
	return wd != nil && wd.opaque.truncated(value)
}

// releaseToken is authentication/token/release (F8).
func (m *Mock) releaseToken(body []byte) answer {
	var req struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
	}
	a := m.checkToken(req.Token, tokens.Release)
	if a.err == nil {
		a.data = emptyObject
	}
	return a
}

// otherMethod is any other Web API method (F5): a live token, then the scenario's data.
func (m *Mock) otherMethod(method, rest, token string, wd *world) answer {
	a := m.checkToken(token, tokens.Use)
	if a.err != nil {
		return a
	}
	ma, ok := wd.methods[method+" "+strings.TrimPrefix(rest, "/")]
	switch {
	case !ok:
		a.data = emptyObject
	case ma.err != "":
		a.err = errorf(ma.err, "%s: injected by the scenario", strings.TrimPrefix(rest, "/"))
	default:
		a.data = ma.data
	}
	return a
}
