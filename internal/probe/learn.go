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
	l := &Learned{}
	fact := func(format string, a ...any) { l.Facts = append(l.Facts, fmt.Sprintf(format, a...)) }
	by := map[string]*Observation{}
	for i := range res.Obs {
		by[res.Obs[i].Step.ID] = &res.Obs[i]
	}
	sent := func(id string) *Observation {
		if o := by[id]; o != nil && o.Sent() && o.Err == "" {
			return o
		}
		return nil
	}
	var w writer
	w.line(0, "# Learned by crmmock probe from "+res.Target+fmt.Sprintf(" (%d requests).", res.Requests), "")
	w.line(0, "# Each learned line says observed (seen in an answer), inferred (from other answers,", "")
	w.line(0, "# with the reasoning) or assumed (not observable in a short probe). Review, then:", "")
	w.line(0, "#   CRM_PASSWORD=… CRM_WEB_API_KEY=… crmmock serve --scenario THIS_FILE", "")

	// The token the target issued.
	var tok *Shape
	for _, id := range []string{"login", "key_login"} {
		if o := sent(id); o != nil && o.Token != nil && tok == nil {
			tok = o.Token
		}
	}

	// The release: the lowest consistent with what exists, what is deprecated and the token format.
	major, reasons := 12, []string{}
	keyAvail, relAvail := true, true
	if o := sent("unknown_key"); o != nil && o.HTTP == http.StatusNotFound {
		keyAvail = false
	}
	if o := sent("release_unknown"); o != nil && o.HTTP == http.StatusNotFound {
		relAvail = false
	}
	deprecated := false
	if o := sent("release"); o != nil && o.OK() && o.Deprecation != "" {
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
			if o := sent("available:" + m.path); o != nil && o.HTTP != http.StatusNotFound && m.from > major {
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
	fact("release: %s (%s)", version, strings.Join(reasons, "; "))
	if major < 12 {
		w.line(0, "# assumed: user tokens die after 1 h idle, key tokens 2 h after issue (the release's rule; not observable in a short probe)", "")
	} else {
		w.line(0, "# assumed: tokens die at exp, used or not (the release's rule; not observable in a short probe)", "")
	}

	// Token format.
	switch {
	case tok == nil:
		w.line(0, "# assumed: the release's token format (no login succeeded, so no token was seen)", "")
		fact("token: none obtained (no credentials given or accepted)")
	case tok.Kind == "opaque":
		w.line(0, fmt.Sprintf("token: {opaque_length: %d, alphabet: %s}", tok.Length, q(tok.Alphabet)),
			"observed: the length; inferred: the alphabet, from the characters of the tokens seen")
		fact("token: opaque, %d characters of %s", tok.Length, tok.Alphabet)
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
		fact("token: JWT, header %s, claims %s; dates as %s; exp - iat = %d s", tok.Header, strings.Join(cl, ", "), dates, tok.Life)
	}

	for _, id := range []string{"login", "key_login"} {
		if o := sent(id); o != nil && !o.OK() {
			what := fmt.Sprintf("HTTP %d %s", o.HTTP, orNone(o.MediaType))
			if o.Envelope {
				what = fmt.Sprintf("HTTP %d %s %q", o.HTTP, o.Code, o.Message)
			}
			fact("%s: the given credentials were refused (%s): check them; the steps that need a token were skipped", o.Step.Title, what)
		}
	}

	// Answers and headers.
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
	fact("answers: Content-Type %s (verify compares media types, without parameters)", strings.Join(mts, ", "))
	if deprecated {
		fact("release answers Deprecation: %s", by["release"].Deprecation)
	}
	sort.Ints(statuses)
	style := "HTTP 200 with a non-OK status.code (as the mock by default)"
	if len(statuses) > 1 || len(statuses) == 1 && statuses[0] != http.StatusOK {
		style = fmt.Sprintf("HTTP statuses %v (each class's http_status below)", statuses)
	}
	fact("errors: %s", style)

	// Errors, per failure class.
	w.line(0, "errors:", "observed: errors answer "+style)
	for _, class := range mockserver.Classes() {
		var obs []*Observation
		for i := range res.Obs {
			if o := &res.Obs[i]; o.Sent() && o.Err == "" && classOf(o) == string(class) {
				obs = append(obs, o)
			}
		}
		code, _ := mockserver.ClassCode(class)
		if len(obs) == 0 {
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
			w.line(1, fmt.Sprintf("%s: {code: %s}", class, code), "assumed: not observable ("+why+"); the catalogue's code")
			continue
		}
		first := obs[0]
		what := fmt.Sprintf("%s %s (%s)", first.Step.Method, first.Step.Path, first.Step.Title)
		if strings.HasPrefix(first.Step.Title, first.Step.Method+" ") {
			what = first.Step.Title
		}
		if !first.Envelope {
			w.line(1, fmt.Sprintf("%s: {http_status: %d}", class, first.HTTP),
				fmt.Sprintf("observed: %s answered HTTP %d %s %q, not the JSON envelope: only its status is expressible", what, first.HTTP, orNone(first.MediaType), first.Snippet))
			fact("%s: HTTP %d %s, not the envelope", class, first.HTTP, orNone(first.MediaType))
			continue
		}
		if first.OK() {
			w.line(1, fmt.Sprintf("%s: {code: %s}", class, code), fmt.Sprintf("observed: %s was accepted (OK); the mock refuses it, so this stays the catalogue's", what))
			fact("%s: accepted (OK)", class)
			continue
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
		fact("%s: HTTP %d %s %q", class, first.HTTP, first.Code, first.Message)
	}

	// Fixtures: names are not secrets; the password and key are placeholders.
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
		fact("oun: %s", stringShape(tok.OUN))
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
	if o := sent("method"); o != nil && o.OK() {
		data, tag := shapeOnly(o.Data), "observed: the shape of data (values left out; --include-fixtures keeps them)"
		if cfg.IncludeFixtures {
			data, tag = compact(o.Data), "observed (--include-fixtures)"
		}
		w.line(0, "methods:", "")
		w.line(1, fmt.Sprintf("- {method: GET, path: %s, data: %s}", q(cfg.Method), data), tag)
		fact("GET %s: OK", cfg.Method)
	}
	l.Scenario = w.b.Bytes()
	return l
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
