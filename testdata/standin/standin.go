// Package standin is a stand-in CRM.COM installation for the tests of crmmock probe,
// verify and run --target: a small net/http server written without package mockserver,
// with quirks of its own that the mock's defaults do not have, so that a probed
// scenario has something to learn:
//
//   - real-style error codes (COM.CRM.EXCEPTION.<AREA>.<NAME>EXCEPTION, F21), its own
//     messages and descriptions, and HTTP 4xx statuses instead of 200;
//   - JWTs (R12-style) with the header {"alg":"HS256","typ":"JWT"}, claims in the order
//     usr, org, oun, iat, exp, jti (iat before exp, unlike the staging token of F21),
//     an oun of 32 hex (F21) and a lifetime of one hour instead of two;
//   - answers as application/json;charset=UTF-8, release with Deprecation: true;
//   - a Web API key other than the default fixtures';
//   - descriptions that echo the key and the token presented (which a probe must never
//     write down);
//   - access_tokens/generate_otp exists (R13 and later), the consumer and device key
//     logins do not (before R15).
//
// It counts every request it receives, and every wrong-password login per user.
package standin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BasePath is where the stand-in serves the Web API (F1).
const BasePath = "/crmapi/rest/v2"

// The stand-in's fixtures: one organisation, unit, user and key.
const (
	User         = "probe.admin"
	Password     = "S3cret-Standin-Pass"
	Organisation = "ACME"
	Unit         = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
	OUN          = "9C0FFEE09C0FFEE09C0FFEE09C0FFEE0"
	Key          = "7A5D11E0C0DE4B1D9E8F7A6B5C4D3E2F"
	Lifetime     = time.Hour
)

// Codes are the stand-in's error codes, by what went wrong.
const (
	CodeLogin        = "COM.CRM.EXCEPTION.AUTHENTICATION.INVALIDLOGINEXCEPTION"
	CodeOrganisation = "COM.CRM.EXCEPTION.AUTHENTICATION.INVALIDORGANISATIONEXCEPTION"
	CodeUnit         = "COM.CRM.EXCEPTION.AUTHENTICATION.INVALIDUNITEXCEPTION"
	CodeKey          = "COM.CRM.EXCEPTION.AUTHENTICATION.INVALIDWEBAPIKEYEXCEPTION"
	CodeToken        = "COM.CRM.EXCEPTION.AUTHENTICATION.INVALIDTOKENEXCEPTION"
	CodeReleased     = "COM.CRM.EXCEPTION.AUTHENTICATION.TOKENRELEASEDEXCEPTION"
	CodeExpired      = "COM.CRM.EXCEPTION.AUTHENTICATION.TOKENEXPIREDEXCEPTION"
	CodeMissing      = "COM.CRM.EXCEPTION.REQUEST.MANDATORYPARAMETEREXCEPTION"
	CodeJSON         = "COM.CRM.EXCEPTION.REQUEST.INVALIDJSONEXCEPTION"
	CodeMediaType    = "COM.CRM.EXCEPTION.REQUEST.UNSUPPORTEDMEDIATYPEEXCEPTION"
	CodeVerb         = "COM.CRM.EXCEPTION.REQUEST.METHODNOTALLOWEDEXCEPTION"
	CodeNoMethod     = "COM.CRM.EXCEPTION.METHODNOTFOUNDEXCEPTION"
)

// Standin is the installation: an http.Handler.
type Standin struct {
	// Gateway, when set ("Name: value"), is a header every request must carry, as a
	// gateway in front of an installation may want; without it: HTTP 403 text/plain.
	// Set before serving.
	Gateway string

	secret []byte
	now    func() time.Time

	mu       sync.Mutex
	requests []string          // "METHOD /path", in arrival order
	arrivals []time.Time       // wall time of each request
	wrongPw  map[string]int    // wrong-password logins per user
	tokens   map[string]string // token → "live" or "released"
	issued   []string
}

// New is a stand-in; now is its clock (nil: the wall clock).
func New(now func() time.Time) *Standin {
	if now == nil {
		now = time.Now
	}
	s := &Standin{now: now, wrongPw: map[string]int{}, tokens: map[string]string{}}
	s.secret = make([]byte, 32)
	_, _ = rand.Read(s.secret)
	return s
}

// Requests is every request received, as "METHOD /path".
func (s *Standin) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Arrivals is the wall time each request arrived at.
func (s *Standin) Arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...)
}

// WrongPasswords is how many logins of user had a wrong password.
func (s *Standin) WrongPasswords(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wrongPw[user]
}

// Live is how many issued tokens are not released.
func (s *Standin) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.tokens {
		if st == "live" {
			n++
		}
	}
	return n
}

// Issued is every token the stand-in issued.
func (s *Standin) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

type status struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	Description string `json:"description"`
}

func (s *Standin) answer(w http.ResponseWriter, httpStatus int, st status, data any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": st, "data": data})
}

func (s *Standin) fail(w http.ResponseWriter, httpStatus int, code, message, description string) {
	s.answer(w, httpStatus, status{code, message, description}, nil)
}

// ServeHTTP answers the Web API under BasePath, and 404 with the envelope elsewhere.
func (s *Standin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.arrivals = append(s.arrivals, time.Now())
	s.mu.Unlock()
	if k, v, ok := strings.Cut(s.Gateway, ":"); ok && r.Header.Get(strings.TrimSpace(k)) != strings.TrimSpace(v) {
		http.Error(w, "gateway: forbidden", http.StatusForbidden)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, BasePath+"/")
	if !ok {
		s.fail(w, 404, CodeNoMethod, "Method not found", "No such resource")
		return
	}
	post := map[string]func(http.ResponseWriter, *http.Request, map[string]any){
		"authentication/token":             s.login,
		"authentication/web_api_key/token": s.keyLogin,
		"authentication/token/release":     s.release,
	}
	if h, ok := post[rest]; ok {
		s.authMethod(w, r, h)
		return
	}
	if r.Method == http.MethodPost && rest == "access_tokens/generate_otp" { // exists (an R13+ installation)
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		tok, _ := str(body, "token")
		if !s.use(w, tok) {
			return
		}
		s.fail(w, 400, CodeMissing, "Mandatory parameter missing", "Parameter access_token_identifier is mandatory")
		return
	}
	if strings.HasPrefix(rest, "authentication/") || strings.Count(rest, "/") < 1 || r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.fail(w, 404, CodeNoMethod, "Method not found", "No such Web API method: "+rest)
		return
	}
	// any other Web API method: a live token (GET: query, POST: body, F5)
	tok := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		tok, _ = str(body, "token")
	}
	if !s.use(w, tok) {
		return
	}
	var data any = map[string]any{}
	if rest == "contact_information/show" {
		data = map[string]any{"id": "C1", "number": "CI000111"}
	}
	s.answer(w, 200, status{Code: "OK"}, data)
}

// authMethod answers an authentication method: POST only, a JSON body, then h.
func (s *Standin) authMethod(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request, map[string]any)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		s.fail(w, 405, CodeVerb, "Method not allowed", "Use POST")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.fail(w, 415, CodeMediaType, "Unsupported media type", "Expected application/json")
		return
	}
	var body map[string]any
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			s.fail(w, 400, CodeJSON, "Invalid JSON", "The request body could not be parsed")
			return
		}
	}
	h(w, r, body)
}

func str(body map[string]any, k string) (string, bool) {
	v, ok := body[k].(string)
	return v, ok
}

func (s *Standin) login(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	for _, k := range []string{"username", "password", "organisation"} {
		if _, ok := str(body, k); !ok {
			s.fail(w, 400, CodeMissing, "Mandatory parameter missing", "Parameter "+k+" is mandatory")
			return
		}
	}
	user, _ := str(body, "username")
	pass, _ := str(body, "password")
	org, _ := str(body, "organisation")
	if org != Organisation {
		s.fail(w, 401, CodeOrganisation, "Invalid organisation", "Organisation not found")
		return
	}
	if user != User {
		s.fail(w, 401, CodeLogin, "Invalid login", "Username or password is incorrect")
		return
	}
	if pass != Password {
		s.mu.Lock()
		s.wrongPw[user]++
		s.mu.Unlock()
		s.fail(w, 401, CodeLogin, "Invalid login", "Username or password is incorrect")
		return
	}
	if u, ok := str(body, "unit"); ok && u != Unit {
		s.fail(w, 403, CodeUnit, "Invalid unit", "The unit is not accessible")
		return
	}
	s.issue(w)
}

func (s *Standin) keyLogin(w http.ResponseWriter, r *http.Request, body map[string]any) {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	raw, err := base64.StdEncoding.DecodeString(cred)
	key, pass, colon := strings.Cut(string(raw), ":")
	switch {
	case !strings.EqualFold(scheme, "Basic") || err != nil || key != Key:
		s.fail(w, 401, CodeKey, "Invalid Web API key", "Web API key not recognised")
		return
	case !colon || pass != "":
		s.fail(w, 401, CodeKey, "Invalid Web API key", "Web API key "+key+" must have an empty password") // echoes the key
		return
	}
	if u, ok := str(body, "unit"); ok && u != Unit {
		s.fail(w, 403, CodeUnit, "Invalid unit", "The unit is not accessible")
		return
	}
	s.issue(w)
}

func (s *Standin) issue(w http.ResponseWriter) {
	iat := s.now().Unix()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := fmt.Sprintf(`{"usr":%q,"org":%q,"oun":%q,"iat":%q,"exp":%q,"jti":%q}`, User, Organisation, OUN,
		strconv.FormatInt(iat, 10), strconv.FormatInt(iat+int64(Lifetime/time.Second), 10), strings.ToUpper(hex.EncodeToString(jti[:])))
	signing := header + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(signing))
	tok := signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	s.mu.Lock()
	s.tokens[tok] = "live"
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	s.answer(w, 200, status{Code: "OK"}, map[string]string{"token": tok})
}

// check judges a token: true when live; otherwise it has answered the failure.
func (s *Standin) check(w http.ResponseWriter, tok string) bool {
	if tok == "" {
		s.fail(w, 400, CodeMissing, "Mandatory parameter missing", "Parameter token is mandatory")
		return false
	}
	s.mu.Lock()
	state := s.tokens[tok]
	s.mu.Unlock()
	switch state {
	case "live":
		return true
	case "released":
		s.fail(w, 401, CodeReleased, "Token released", "Token "+tok+" is no longer valid") // echoes the token
	default:
		s.fail(w, 401, CodeToken, "Invalid token", "The token is not valid")
	}
	return false
}

func (s *Standin) use(w http.ResponseWriter, tok string) bool { return s.check(w, tok) }

func (s *Standin) release(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	tok, _ := str(body, "token")
	if !s.check(w, tok) {
		return
	}
	s.mu.Lock()
	s.tokens[tok] = "released"
	s.mu.Unlock()
	w.Header().Set("Deprecation", "true") // R12-style
	s.answer(w, 200, status{Code: "OK"}, map[string]any{})
}
