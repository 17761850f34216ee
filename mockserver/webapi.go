package mockserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// answer is what a Web API handler returns; writeAnswer turns it into the envelope.
type answer struct {
	data       any // nil with err; json.RawMessage or a value otherwise
	err        *apiError
	deprecated bool
	token      string // the token issued, for the log
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

var emptyObject = json.RawMessage(`{}`)

// writeAnswer is the only writer of the envelope: status, headers, scenario overrides
// of code and message, and the journal entry.
func (m *Mock) writeAnswer(w http.ResponseWriter, r *http.Request, rest string, a answer, wd *world) {
	env := envelope{Status: envelopeStatus{Code: string(CodeOK)}, Data: a.data}
	status := http.StatusOK
	if a.err != nil {
		env.Data = nil
		status = a.err.status(m.mapped)
		env.Status.Code = string(a.err.Code)
		env.Status.Message = catalogue[a.err.Code].Message
		env.Status.Description = a.err.Description
		if o, ok := wd.errors[a.err.Code]; ok {
			if o.Code != "" {
				env.Status.Code = o.Code
			}
			if o.Message != "" {
				env.Status.Message = o.Message
			}
		}
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
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if a.deprecated {
		h.Set("Deprecation", "true") // F8: deprecated from R12.0.0
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)

	e := JournalEntry{
		Time: m.clock.Now(), Method: r.Method, Path: r.URL.Path, Status: status,
		Code: env.Status.Code, Version: m.release.Load().Name,
	}
	if a.err != nil && a.err.Violation {
		e.Violations = []string{a.err.Description}
		m.log.Warn("contract violation", "method", r.Method, "path", r.URL.Path, "reason", a.err.Description)
	} else if m.log.Enabled(r.Context(), slog.LevelDebug) { // no boxing of the arguments when off
		m.log.Debug("request", "method", r.Method, "path", r.URL.Path, "code", e.Code)
	}
	m.journal.add(e)
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
	case json.RawMessage:
		if d == nil {
			buf.WriteString("null")
		} else if err := json.Compact(buf, d); err != nil {
			return err
		}
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

// serveAPI answers a Web API request whose path below the base path is rest.
func (m *Mock) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	wd := m.world.Load()
	m.writeAnswer(w, r, rest, m.handleAPI(r, rest, wd), wd)
}

func (m *Mock) handleAPI(r *http.Request, rest string, wd *world) answer {
	rel := m.release.Load()
	routed, route, params, aerr := m.contract().route(r, rest)
	if aerr != nil {
		return answer{err: aerr}
	}
	op := route.Operation.OperationID
	avail := rel.Profile.availability(op)
	if avail == NotAvailable {
		return answer{err: errorf(CodeNotAvailable, "%s is not available in %s (from R%d)", strings.TrimPrefix(rest, "/"), rel.Name, firstMajor(op))}
	}
	body, aerr := m.readBody(r)
	if aerr != nil {
		return answer{err: aerr}
	}
	if wd.lenientCT && r.Method == http.MethodPost && routed.Header.Get("Content-Type") == "" {
		routed.Header = routed.Header.Clone() // routed shares r's headers
		routed.Header.Set("Content-Type", "application/json")
	}
	if wd.orgSpelling && op == "authenticationToken" {
		body = respellOrganization(body)
	}
	var query url.Values // parsed once, for the validator and the handler
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	if aerr := m.contract().validate(r.Context(), routed, route, params, query, body); aerr != nil {
		return answer{err: aerr}
	}
	now := m.clock.Now()
	var a answer
	switch op {
	case "authenticationToken":
		a = m.userToken(body, rel, wd, now)
	case "webApiKeyToken":
		a = m.keyToken(r, body, rel, wd, now)
	case "releaseToken":
		a = m.releaseToken(body)
	case "otherMethodGet":
		a = m.otherMethod(r, rest, query.Get("token"), wd)
	case "otherMethodPost":
		var req struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return answer{err: errorf(CodeInvalidRequest, "request body: field \"token\": %v", err)}
		}
		a = m.otherMethod(r, rest, req.Token, wd)
	default:
		return answer{err: errorf(CodeInternal, "operation %q has no handler", op)}
	}
	a.deprecated = avail == Deprecated && a.err == nil
	return a
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

func (m *Mock) readBody(r *http.Request) ([]byte, *apiError) {
	if r.Body == nil || r.Method == http.MethodGet {
		return nil, nil
	}
	tooLarge := errorf(CodeTooLarge, "request body: over the limit of %d bytes", m.bodyLimit)
	if r.ContentLength > m.bodyLimit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, m.bodyLimit+1))
	if err != nil {
		return nil, errorf(CodeInvalidRequest, "request body: could not be read: %v", err)
	}
	if int64(len(body)) > m.bodyLimit {
		return nil, tooLarge
	}
	return body, nil
}

func (p *Profile) availability(operationID string) Availability {
	switch operationID {
	case "webApiKeyToken":
		return p.KeyToken
	case "releaseToken":
		return p.Release
	}
	return Available
}

// firstMajor is the first release major where an operation is available, from the table.
func firstMajor(operationID string) int {
	for _, p := range profiles {
		if p.availability(operationID) != NotAvailable {
			return p.FromMajor
		}
	}
	return 0
}

// userToken is authentication/token (F2).
func (m *Mock) userToken(body []byte, rel *Release, wd *world, now time.Time) answer {
	var req struct {
		Username     string  `json:"username"`
		Password     string  `json:"password"`
		Organisation string  `json:"organisation"`
		Unit         *string `json:"unit"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
	}
	g, ok := wd.orgs[req.Organisation]
	if !ok {
		return answer{err: errorf(CodeInvalidOrg, "organisation: %q is not a known organisation", req.Organisation)}
	}
	u, ok := g.users[req.Username]
	if !ok {
		_ = subtle.ConstantTimeCompare([]byte(req.Password), []byte(req.Password)) // same work as a known user
		return answer{err: errorf(CodeInvalidCredentials, "username: %q is not a user of organisation %q", req.Username, req.Organisation)}
	}
	if subtle.ConstantTimeCompare([]byte(req.Password), []byte(u.password)) != 1 {
		return answer{err: errorf(CodeInvalidCredentials, "password: wrong password for user %q", req.Username)}
	}
	x := u.defaultUnit // F2: the user's default unit when unit is absent
	if req.Unit != nil {
		var ok bool
		if x, ok = g.units[*req.Unit]; !ok {
			return answer{err: errorf(CodeInvalidUnit, "unit: %q is not a unit of organisation %q", *req.Unit, g.name)}
		}
		if !u.mayUse(x) {
			return answer{err: errorf(CodeInvalidUnit, "unit: user %q may not use unit %q", u.username, *req.Unit)}
		}
	}
	return m.issue(KindUser, rel.Profile.UserRule, u, x, rel, wd, now)
}

// keyToken is authentication/web_api_key/token (F7): the key is the Basic username.
func (m *Mock) keyToken(r *http.Request, body []byte, rel *Release, wd *world, now time.Time) answer {
	key, aerr := basicKey(r.Header.Get("Authorization"))
	if aerr != nil {
		return answer{err: aerr}
	}
	var k *apiKey
	for v, cand := range wd.keys { // constant-time over every key: no timing oracle
		if subtle.ConstantTimeCompare([]byte(v), []byte(key)) == 1 {
			k = cand
		}
	}
	if k == nil {
		return answer{err: errorf(CodeInvalidKey, "Authorization: the Web API key is not known")}
	}
	var req struct {
		Unit *string `json:"unit"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
		}
	}
	x := k.user.defaultUnit // F7: the key's user's default unit
	if req.Unit != nil {
		var ok bool
		if x, ok = k.user.org.units[*req.Unit]; !ok {
			return answer{err: errorf(CodeInvalidUnit, "unit: %q is not a unit of organisation %q", *req.Unit, k.user.org.name)}
		}
		if !k.mayUse(x) {
			return answer{err: errorf(CodeInvalidUnit, "unit: the Web API key may not use unit %q", *req.Unit)}
		}
	} else if !k.mayUse(x) {
		for _, cand := range k.user.org.units {
			if k.mayUse(cand) {
				x = cand
				break
			}
		}
	}
	return m.issue(KindKey, rel.Profile.KeyRule, k.user, x, rel, wd, now)
}

// basicKey reads the key from "Authorization: Basic base64(key:)" (F7).
func basicKey(h string) (string, *apiError) {
	if h == "" {
		return "", errorf(CodeInvalidKey, "Authorization: missing; send the Web API key as the HTTP Basic username")
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", errorf(CodeInvalidKey, "Authorization: not HTTP Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", errorf(CodeInvalidKey, "Authorization: the Basic credentials are not base64")
	}
	key, pass, ok := strings.Cut(string(raw), ":")
	switch {
	case !ok:
		return "", errorf(CodeInvalidKey, "Authorization: the Basic credentials have no colon (want key:)")
	case key == "":
		return "", errorf(CodeInvalidKey, "Authorization: the Web API key (Basic username) is empty")
	case pass != "":
		return "", errorf(CodeInvalidKey, "Authorization: the Basic password must be empty")
	}
	return key, nil
}

// issue mints a token under a release's rule and stores it.
func (m *Mock) issue(kind Kind, rule ExpiryRule, u *user, x *unit, rel *Release, wd *world, now time.Time) answer {
	value := randomHex() // F6
	if rel.Profile.Format == FormatJWT {
		var err error
		if value, err = mintJWT(m.secret, u, x, now.Unix(), int64(rule.After/time.Second), wd.numericDates); err != nil {
			return answer{err: errorf(CodeInternal, "token: could not sign: %v", err)}
		}
	}
	n := now.UnixNano()
	m.tokens.add(&record{value: value, kind: kind, version: rel.Name, rule: rule, user: u, unit: x, issued: n, lastUsed: n})
	return answer{data: tokenData{Token: value}, token: value}
}

type tokenData struct {
	Token string `json:"token"`
}

// checkToken judges a presented token: its JWT shape and signature, then the store.
func (m *Mock) checkToken(value string, touch bool) (*record, *apiError) {
	if value == "" {
		return nil, errorf(CodeInvalidToken, "token: missing")
	}
	if strings.Count(value, ".") == 2 {
		if err := checkJWT(m.secret, value); err != nil {
			return nil, errorf(CodeInvalidToken, "%v", err)
		}
	}
	return m.tokens.use(value, touch) // judged on the clock as it is under the store's lock
}

// releaseToken is authentication/token/release (F8).
func (m *Mock) releaseToken(body []byte) answer {
	var req struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
	}
	if _, aerr := m.checkToken(req.Token, false); aerr != nil {
		return answer{err: aerr}
	}
	if aerr := m.tokens.release(req.Token); aerr != nil {
		return answer{err: aerr}
	}
	return answer{data: emptyObject}
}

// otherMethod is any other Web API method (F5): a live token, then the scenario's data.
func (m *Mock) otherMethod(r *http.Request, rest, token string, wd *world) answer {
	if _, aerr := m.checkToken(token, true); aerr != nil {
		return answer{err: aerr}
	}
	ma, ok := wd.methods[r.Method+" "+strings.TrimPrefix(rest, "/")]
	if !ok {
		return answer{data: emptyObject}
	}
	if ma.err != "" {
		return answer{err: errorf(ma.err, "%s: injected by the scenario", strings.TrimPrefix(rest, "/"))}
	}
	return answer{data: ma.data}
}
