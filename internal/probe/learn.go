package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/crmmock/crmmock/mockserver"
)

// defaultHeader is the header of the mock's JWTs (F10).
const defaultHeader = `{"typ":"JWT","alg":"HS256"}`

// classOf is the failure class an answer shows: the step's, except that HTTP 404 on an
// authentication method means the method is not available in the target's release.
func classOf(o *Observation) string {
	if o.Step.Availability || o.Step.Class == "" && o.HTTP != http.StatusNotFound {
		return ""
	}
	if o.HTTP == http.StatusNotFound && strings.HasPrefix(o.Step.Path, "authentication/") {
		return "method_not_available"
	}
	return o.Step.Class
}

// Learned is what a run taught: facts for the report and the scenario.
type Learned struct {
	Facts    []string
	Scenario []byte
}

// scenario lines with their tags
type writer struct {
	b bytes.Buffer
}

func (w *writer) line(indent int, text, tag string) {
	w.b.WriteString(strings.Repeat("  ", indent))
	w.b.WriteString(text)
	if tag != "" {
		w.b.WriteString("   # ")
		w.b.WriteString(tag)
	}
	w.b.WriteByte('\n')
}

// singleQuoted quotes a string for YAML in single quotes (a JSON text stays readable).
func singleQuoted(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// q quotes a string for YAML: a JSON string is a YAML double-quoted scalar.
func q(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Learn turns a run into facts and a scenario. Each learned line of the scenario says
// whether it was observed, inferred (and why) or assumed (and why).
func Learn(res *Result, cfg Config) *Learned {
	lr := &learner{res: res, cfg: cfg, l: &Learned{}, by: map[string]*Observation{}}
	for i := range res.Obs {
		lr.by[res.Obs[i].Step.ID] = &res.Obs[i]
	}
	w := &lr.w
	w.line(0, "# Learned by crmmock probe from "+res.Target+fmt.Sprintf(" (%d requests).", res.Requests), "")
	w.line(0, "# Each learned line says observed (seen in an answer), inferred (from other answers,", "")
	w.line(0, "# with the reasoning) or assumed (not observable in a short probe). Review, then:", "")
	w.line(0, "#   CRM_PASSWORD=… CRM_WEB_API_KEY=… crmmock serve --scenario THIS_FILE", "")

	// The token the target issued.
	for _, id := range []string{"login", "key_login"} {
		if o := lr.sent(id); o != nil && o.Token != nil && lr.tok == nil {
			lr.tok = o.Token
		}
	}
	lr.release()
	lr.tokenFormat()
	lr.refused()
	style := lr.answers()
	lr.errors(style)
	lr.fixtures()
	lr.l.Scenario = w.b.Bytes()
	return lr.l
}

// learner is what Learn knows as it goes: the run, the scenario written so far, the
// token seen and the release inferred.
type learner struct {
	res        *Result
	cfg        Config
	l          *Learned
	by         map[string]*Observation // observations by step id
	w          writer
	tok        *Shape // the token the target issued; nil: none
	major      int    // the release inferred: 9 (pre-R10), 10 or 12 and later
	deprecated bool   // release answered with Deprecation
}

func (lr *learner) fact(format string, a ...any) {
	lr.l.Facts = append(lr.l.Facts, fmt.Sprintf(format, a...))
}

// sent is the observation of step id when it was sent and answered.
func (lr *learner) sent(id string) *Observation {
	if o := lr.by[id]; o != nil && o.Sent() && o.Err == "" {
		return o
	}
	return nil
}

// release infers the release: the lowest consistent with what exists, what is
// deprecated and the token format.
func (lr *learner) release() {
	w, tok := &lr.w, lr.tok
	major, reasons := 12, []string{}
	keyAvail, relAvail := true, true
	if o := lr.sent("unknown_key"); o != nil && o.HTTP == http.StatusNotFound {
		keyAvail = false
	}
	if o := lr.sent("release_unknown"); o != nil && o.HTTP == http.StatusNotFound {
		relAvail = false
	}
	deprecated := false
	if o := lr.sent("release"); o != nil && o.OK() && o.Deprecation != "" {
		deprecated = true
	}
	switch {
	case !keyAvail:
		major = 9
		reasons = append(reasons, "authentication/web_api_key/token answered HTTP 404 (key logins exist from R10)")
		if relAvail {
			reasons = append(reasons, "yet token/release exists: inconsistent, the key method decides")
		}
	case tok != nil && tok.Kind == "jwt":
		reasons = append(reasons, "tokens are JWTs (from R12)")
		if deprecated {
			reasons = append(reasons, "release carries Deprecation (from R12)")
		}
	case deprecated:
		reasons = append(reasons, "release carries Deprecation (from R12)")
		if tok != nil {
			reasons = append(reasons, "though tokens are opaque")
		}
	case tok != nil:
		major = 10
		reasons = append(reasons, "key logins exist (from R10) and tokens are opaque (before R12)")
	default:
		major = 10
		reasons = append(reasons, "key logins exist (from R10); no token was obtained to tell R10 from R12")
	}
	if major >= 12 { // opaque tokens (before R12) outweigh a method that seems to exist
		for _, m := range laterMethods {
			if o := lr.sent("available:" + m.path); o != nil && o.HTTP != http.StatusNotFound && m.from > major {
				major = m.from
				reasons = append(reasons, fmt.Sprintf("%s exists (from R%d)", m.path, m.from))
			}
		}
	}
	version := fmt.Sprintf("R%d", major)
	if major < 10 {
		version = "pre-R10"
	}
	w.line(0, "version: "+version, "inferred: "+strings.Join(reasons, "; "))
	lr.fact("release: %s (%s)", version, strings.Join(reasons, "; "))
	if major < 12 {
		w.line(0, "# assumed: user tokens die after 1 h idle, key tokens 2 h after issue (the release's rule; not observable in a short probe)", "")
	} else {
		w.line(0, "# assumed: tokens die at exp, used or not (the release's rule; not observable in a short probe)", "")
	}

	lr.major, lr.deprecated = major, deprecated
}

// tokenFormat writes the token format seen.
func (lr *learner) tokenFormat() {
	w, tok, major := &lr.w, lr.tok, lr.major
	switch {
	case tok == nil:
		w.line(0, "# assumed: the release's token format (no login succeeded, so no token was seen)", "")
		lr.fact("token: none obtained (no credentials given or accepted)")
	case tok.Kind == "opaque":
		w.line(0, fmt.Sprintf("token: {opaque_length: %d, alphabet: %s}", tok.Length, q(tok.Alphabet)),
			"observed: the length; inferred: the alphabet, from the characters of the tokens seen")
		lr.fact("token: opaque, %d characters of %s", tok.Length, tok.Alphabet)
		if major >= 12 {
			w.line(0, "# observed: opaque tokens on a release with Deprecation: the mock issues JWTs from R12, so this is not expressible yet", "")
		}
	default:
		w.line(0, "jwt:", "")
		dates := "strings"
		if tok.Numeric {
			dates = "numbers"
		}
		w.line(1, fmt.Sprintf("numeric_dates: %t", tok.Numeric), "observed: iat and exp are JSON "+dates)
		if tok.Life > 0 {
			w.line(1, fmt.Sprintf("lifetime: %d", tok.Life), "observed: exp - iat (seconds)")
		} else {
			w.line(1, "lifetime: 7200", "assumed: exp - iat not readable (the release's 2 h)")
		}
		names := tok.ClaimNames()
		std := []string{"usr", "org", "oun", "exp", "iat", "jti"}
		sorted := slices.Clone(names)
		sort.Strings(sorted)
		std2 := slices.Clone(std)
		sort.Strings(std2)
		if slices.Equal(sorted, std2) {
			w.line(1, "claims_order: ["+strings.Join(names, ", ")+"]", "observed")
		} else {
			w.line(1, "# observed: claims ["+strings.Join(names, ", ")+"]: other than usr, org, oun, exp, iat, jti, not expressible yet", "")
		}
		if tok.Header != defaultHeader {
			w.line(1, "header: "+singleQuoted(tok.Header), "observed: the header, byte for byte")
		}
		cl := make([]string, len(tok.Claims))
		for i, c := range tok.Claims {
			cl[i] = c.Name + " " + c.Type
		}
		lr.fact("token: JWT, header %s, claims %s; dates as %s; exp - iat = %d s", tok.Header, strings.Join(cl, ", "), dates, tok.Life)
	}

}

// refused notes the logins whose credentials were refused.
func (lr *learner) refused() {
	for _, id := range []string{"login", "key_login"} {
		if o := lr.sent(id); o != nil && !o.OK() {
			what := fmt.Sprintf("HTTP %d %s", o.HTTP, orNone(o.MediaType))
			if o.Envelope {
				what = fmt.Sprintf("HTTP %d %s %q", o.HTTP, o.Code, o.Message)
			}
			lr.fact("%s: the given credentials were refused (%s): check them; the steps that need a token were skipped", o.Step.Title, what)
		}
	}

}

// answers notes the answers' media types and headers; it says how errors answer.
func (lr *learner) answers() string {
	res, by, deprecated := lr.res, lr.by, lr.deprecated
	mediaTypes := map[string]bool{}
	var statuses []int
	for i := range res.Obs {
		o := &res.Obs[i]
		if o.Sent() && o.Err == "" {
			mediaTypes[o.ContentType] = true
			if classOf(o) != "" && o.Envelope && !o.OK() && !slices.Contains(statuses, o.HTTP) {
				statuses = append(statuses, o.HTTP)
			}
		}
	}
	mts := make([]string, 0, len(mediaTypes))
	for mt := range mediaTypes {
		mts = append(mts, orNone(mt))
	}
	sort.Strings(mts)
	lr.fact("answers: Content-Type %s (verify compares media types, without parameters)", strings.Join(mts, ", "))
	if deprecated {
		lr.fact("release answers Deprecation: %s", by["release"].Deprecation)
	}
	sort.Ints(statuses)
	style := "HTTP 200 with a non-OK status.code (as the mock by default)"
	if len(statuses) > 1 || len(statuses) == 1 && statuses[0] != http.StatusOK {
		style = fmt.Sprintf("HTTP statuses %v (each class's http_status below)", statuses)
	}
	lr.fact("errors: %s", style)

	return style
}

// errors writes the errors: entry, one line per failure class.
func (lr *learner) errors(style string) {
	w := &lr.w
	w.line(0, "errors:", "observed: errors answer "+style)
	for _, class := range mockserver.Classes() {
		lr.errorClass(class)
	}
}

// errorClass writes one failure class's entry: observed, or the catalogue's and why.
func (lr *learner) errorClass(class mockserver.Class) {
	res, w := lr.res, &lr.w
	var obs []*Observation
	for i := range res.Obs {
		if o := &res.Obs[i]; o.Sent() && o.Err == "" && classOf(o) == string(class) {
			obs = append(obs, o)
		}
	}
	code, _ := mockserver.ClassCode(class)
	if len(obs) == 0 {
		why := unobservable(class, lr.cfg)
		w.line(1, fmt.Sprintf("%s: {code: %s}", class, code), "assumed: not observable ("+why+"); the catalogue's code")
		return
	}
	first := obs[0]
	what := fmt.Sprintf("%s %s (%s)", first.Step.Method, first.Step.Path, first.Step.Title)
	if strings.HasPrefix(first.Step.Title, first.Step.Method+" ") {
		what = first.Step.Title
	}
	if !first.Envelope {
		w.line(1, fmt.Sprintf("%s: {http_status: %d}", class, first.HTTP),
			fmt.Sprintf("observed: %s answered HTTP %d %s %q, not the JSON envelope: only its status is expressible", what, first.HTTP, orNone(first.MediaType), first.Snippet))
		lr.fact("%s: HTTP %d %s, not the envelope", class, first.HTTP, orNone(first.MediaType))
		return
	}
	if first.OK() {
		w.line(1, fmt.Sprintf("%s: {code: %s}", class, code), fmt.Sprintf("observed: %s was accepted (OK); the mock refuses it, so this stays the catalogue's", what))
		lr.fact("%s: accepted (OK)", class)
		return
	}
	desc, tag := first.Description, "observed: "+what
	for _, o := range obs[1:] {
		if o.Code != first.Code || o.Message != first.Message || o.HTTP != first.HTTP {
			tag += fmt.Sprintf("; %s %s answered otherwise (HTTP %d %s): one entry cannot say both", o.Step.Method, o.Step.Path, o.HTTP, o.Code)
			break
		}
		if o.Description != first.Description {
			a := strings.ReplaceAll(first.Description, first.Step.Path, "{method}")
			b := strings.ReplaceAll(o.Description, o.Step.Path, "{method}")
			if a == b {
				desc = a
				tag += "; inferred: the description names the method asked"
			} else {
				tag += fmt.Sprintf("; %s %s has another description: one entry cannot say both", o.Step.Method, o.Step.Path)
			}
		}
	}
	w.line(1, fmt.Sprintf("%s: {code: %s, message: %s, description: %s, http_status: %d}", class, q(first.Code), q(first.Message), q(desc), first.HTTP), tag)
	lr.fact("%s: HTTP %d %s %q", class, first.HTTP, first.Code, first.Message)
}

// unobservable says why no request of the probe showed a failure class.
func unobservable(class mockserver.Class, cfg Config) string {
	why := "no request of the plan shows it"
	switch class {
	case "expired_token":
		why = "a token lives 1 to 2 h, longer than a probe"
	case "wrong_password":
		if cfg.NoLockoutRisk {
			why = "--no-lockout-risk skipped the wrong-password login"
		} else {
			why = "no successful login to try a wrong password on"
		}
	case "truncated_token", "released_token":
		if cfg.Method == "" {
			why = "needs --method"
		}
	case "method_not_available":
		why = "every authentication method of the release exists"
	}
	return why
}

// fixtures writes the organisation, unit, user, key and method: names are not
// secrets; the password and key are placeholders.
func (lr *learner) fixtures() {
	cfg, w, tok := lr.cfg, &lr.w, lr.tok
	org, orgTag := cfg.Creds.Organisation, "observed: given (--organisation)"
	if org == "" && tok != nil && tok.Org != "" {
		org, orgTag = tok.Org, "observed: the token's org claim"
	} else if org == "" {
		org, orgTag = "UNKNOWN", "assumed: no organisation given or seen"
	}
	user, userTag := cfg.Creds.User, "observed: given (--user); the password is read from CRM_PASSWORD at load"
	password := "${CRM_PASSWORD}"
	if user == "" {
		password = "${CRM_PASSWORD:-}"
		if tok != nil && tok.Usr != "" {
			user, userTag = tok.Usr, "observed: the key token's usr claim; no password given"
		} else {
			user, userTag = "webapi", "assumed: the key's user is not observable; no password given"
		}
	}
	unit, unitTag := cfg.Creds.Unit, "observed: given (--unit)"
	if unit == "" {
		unit, unitTag = "DEFAULT", "assumed: the target names no unit (the user's default unit)"
	}
	unitLine := "- {id: " + q(unit)
	if tok != nil && tok.OUN != "" {
		unitLine += ", oun: " + q(tok.OUN)
		unitTag += "; oun observed in the token"
		lr.fact("oun: %s", stringShape(tok.OUN))
	}
	w.line(0, "organisations:", "")
	w.line(1, "- name: "+q(org), orgTag)
	w.line(2, "units:", "")
	w.line(3, unitLine+"}", unitTag)
	w.line(2, "users:", "")
	w.line(3, fmt.Sprintf("- {username: %s, password: %s, default_unit: %s}", q(user), q(password), q(unit)), userTag)
	if cfg.Creds.Key != "" {
		w.line(2, "web_api_keys:", "")
		w.line(3, fmt.Sprintf("- {key: %s, user: %s}", q("${CRM_WEB_API_KEY}"), q(user)), "given; read from CRM_WEB_API_KEY at load")
	}
	if o := lr.sent("method"); o != nil && o.OK() {
		data, tag := shapeOnly(o.Data), "observed: the shape of data (values left out; --include-fixtures keeps them)"
		if cfg.IncludeFixtures {
			data, tag = compact(o.Data), "observed (--include-fixtures)"
		}
		w.line(0, "methods:", "")
		w.line(1, fmt.Sprintf("- {method: GET, path: %s, data: %s}", q(cfg.Method), data), tag)
		lr.fact("GET %s: OK", cfg.Method)
	}
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() == 0 {
		return "{}"
	}
	return b.String()
}

// shapeOnly keeps data's keys and types, not its values.
func shapeOnly(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "{}"
	}
	out, _ := json.Marshal(blank(v))
	return string(out)
}

func blank(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = blank(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = blank(e)
		}
		return x
	case string:
		return ""
	case float64:
		return 0
	case bool:
		return false
	}
	return v
}
