package script

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// check compares an answer with an expectation; ${name} in expected values is replaced.
func (r *runner) check(e *Expect, x *exchange) []Failure {
	var out failures
	r.checkStatus(&out, e, x)
	r.checkBody(&out, e, x)
	checkHeaders(&out, e, x)
	if e.JWT != nil {
		r.checkJWT(&out, e.JWT, x)
	}
	return out
}

// failures collects an answer's differences from its expectation, in the order found.
type failures []Failure

func (out *failures) add(what, want, got string) {
	*out = append(*out, Failure{What: what, Want: want, Got: got})
}

// checkStatus compares status.code (with the installation's codes) and the HTTP status.
func (r *runner) checkStatus(out *failures, e *Expect, x *exchange) {
	wantCode := ""
	if e.Code != "" {
		want, err := r.str(e.Code)
		wantCode = want
		if err != nil {
			out.add("status.code", e.Code, err.Error())
		} else if got, ok := lookup(x.json, "status.code"); !ok || !r.inst.code(want, plain(got)) {
			out.add("status.code", showCodes(want, r.inst), showAt(got, ok))
		}
	}
	if e.HTTP != 0 && !r.inst.status(wantCode, e.HTTP, x.status) {
		out.add("HTTP status", strconv.Itoa(e.HTTP), strconv.Itoa(x.status))
	}
}

// checkBody compares the body's values, JSON types, token shape and patterns.
func (r *runner) checkBody(out *failures, e *Expect, x *exchange) {
	for _, p := range sortedKeys(e.JSON) {
		want, err := r.value(e.JSON[p])
		if err != nil {
			out.add(p, fmt.Sprint(e.JSON[p]), err.Error())
			continue
		}
		got, ok := lookup(x.json, p)
		if !ok || !sameJSON(want, got) {
			out.add(p, show(want), showAt(got, ok))
		}
	}
	for _, p := range sortedKeys(e.Types) {
		v, ok := lookup(x.json, p)
		if !ok || jsonType(v) != e.Types[p] {
			out.add(p, "a JSON "+e.Types[p], typeAt(v, ok))
		}
	}
	if e.Token != "" {
		v, ok := lookup(x.json, "data.token")
		pattern := e.Token
		if r.inst != nil && r.inst.Opaque != "" && pattern == defaultOpaque {
			pattern = r.inst.Opaque // the installation's opaque tokens
		}
		r.match(out, "data.token", pattern, v, ok)
	}
	for _, p := range sortedKeys(e.Match) {
		v, ok := lookup(x.json, p)
		r.match(out, p, e.Match[p], v, ok)
	}
}

// match checks v against pattern, a regular expression after ${name} is replaced.
func (r *runner) match(out *failures, what string, pattern string, v any, ok bool) {
	pat, err := r.str(pattern)
	if err != nil {
		out.add(what, pattern, err.Error())
		return
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		out.add(what, "a regular expression", err.Error())
		return
	}
	if !ok || !re.MatchString(plain(v)) {
		out.add(what, "/"+pat+"/", showAt(v, ok))
	}
}

// checkHeaders compares the answer's headers: a nil want means absent.
func checkHeaders(out *failures, e *Expect, x *exchange) {
	for _, k := range sortedKeys(e.Headers) {
		want := e.Headers[k]
		got := x.header.Values(k)
		switch {
		case want == nil && len(got) > 0:
			out.add("header "+k, "absent", show(strings.Join(got, ", ")))
		case want != nil && len(got) == 0:
			out.add("header "+k, show(*want), "absent")
		case want != nil && strings.Join(got, ", ") != *want:
			out.add("header "+k, show(*want), show(strings.Join(got, ", ")))
		}
	}
}

// checkJWT decodes the JWT the expectation points at and compares its header, claims
// and lifetime.
func (r *runner) checkJWT(out *failures, j *JWTExpect, x *exchange) {
	of := j.Of
	if of == "" {
		of = "data.token"
	}
	v, ok := lookup(x.json, of)
	s, isStr := v.(string)
	if !ok || !isStr {
		out.add("jwt at "+of, "a JWT string", showAt(v, ok))
		return
	}
	header, claims, err := decodeJWT(s)
	if err != nil {
		out.add("jwt at "+of, "a JWT", fmt.Sprintf("%s (%v)", show(s), err))
		return
	}
	for _, k := range sortedKeys(j.Header) {
		want, err := r.value(j.Header[k])
		if err != nil {
			out.add("jwt header "+k, fmt.Sprint(j.Header[k]), err.Error())
			continue
		}
		got, ok := header[k]
		if !ok || !sameJSON(want, got) {
			out.add("jwt header "+k, show(want), showAt(got, ok))
		}
	}
	r.checkClaims(out, j, claims)
	if j.Lifetime != nil {
		r.checkLifetime(out, *j.Lifetime, claims)
	}
}

// checkClaims compares a JWT's claims: values, patterns and JSON types.
func (r *runner) checkClaims(out *failures, j *JWTExpect, claims map[string]any) {
	for _, k := range sortedKeys(j.Claims) {
		want, err := r.value(j.Claims[k])
		if err != nil {
			out.add("jwt claim "+k, fmt.Sprint(j.Claims[k]), err.Error())
			continue
		}
		if k == "oun" && r.inst != nil && r.inst.OUN != "" {
			want = r.inst.OUN // the installation's unit, not the script's fixture
		}
		got, ok := claims[k]
		if !ok || !sameJSON(want, got) {
			out.add("jwt claim "+k, show(want), showAt(got, ok))
		}
	}
	for _, k := range sortedKeys(j.Match) {
		got, ok := claims[k]
		r.match(out, "jwt claim "+k, j.Match[k], got, ok)
	}
	for _, k := range sortedKeys(j.Types) {
		got, ok := claims[k]
		if !ok || jsonType(got) != j.Types[k] {
			out.add("jwt claim "+k, "a JSON "+j.Types[k], typeAt(got, ok))
		}
	}
}

// checkLifetime compares a JWT's exp - iat with the expected lifetime in seconds.
func (r *runner) checkLifetime(out *failures, life int64, claims map[string]any) {
	if r.inst != nil && r.inst.Lifetime != 0 && life == 7200 { // F9's 2 h: the installation's own
		life = r.inst.Lifetime
	}
	iat, err1 := unixSeconds(claims["iat"])
	exp, err2 := unixSeconds(claims["exp"])
	switch {
	case err1 != nil || err2 != nil:
		out.add("jwt exp - iat", strconv.FormatInt(life, 10), fmt.Sprintf("iat %s, exp %s: not Unix seconds", show(claims["iat"]), show(claims["exp"])))
	case exp-iat != life:
		out.add("jwt exp - iat", strconv.FormatInt(life, 10), strconv.FormatInt(exp-iat, 10))
	}
}

// decodeJWT reads a JWT's header and claims without verifying the signature (the
// script does not know the server's secret).
func decodeJWT(s string) (header, claims map[string]any, err error) {
	mc := jwt.MapClaims{}
	t, _, err := jwt.NewParser().ParseUnverified(s, mc)
	if err != nil {
		return nil, nil, err
	}
	return t.Header, map[string]any(mc), nil
}

func unixSeconds(v any) (int64, error) {
	switch x := v.(type) {
	case string:
		return strconv.ParseInt(x, 10, 64)
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("not Unix seconds")
}

// lookup finds a JSON path in a decoded body: keys and indexes joined by dots
// (data.token, violations.0.code); a last "#" is the length of an array or object; an
// empty path is the whole body.
func lookup(v any, path string) (any, bool) {
	if path == "" || path == "." {
		return v, v != nil
	}
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			if k == "#" {
				return float64(len(x)), true
			}
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			if k == "#" {
				return float64(len(x)), true
			}
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// sameJSON compares two values as JSON (numbers by value, strings and numbers apart).
func sameJSON(want, got any) bool {
	return reflect.DeepEqual(normal(want), normal(got))
}

func normal(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// show writes a value as JSON for a report.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b), 200)
}

func showAt(v any, ok bool) string {
	if !ok {
		return "nothing (no such path)"
	}
	return show(v)
}

func typeAt(v any, ok bool) string {
	if !ok {
		return "nothing (no such path)"
	}
	return fmt.Sprintf("a JSON %s: %s", jsonType(v), show(v))
}

// plain is a value as a regular expression sees it: a string as it is, else its JSON.
func plain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var (
	wholeRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\$\{([^}]*)\}$`) })
	// sliceRef is ${name:offset} or ${name:offset:length}: part of a value (a token cut
	// as a too-short column would).
	sliceRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^:]+):([0-9]+)(?::([0-9]+))?$`) })
)

// lookupVar resolves a ${…} reference: NAME (a value saved by an earlier step; then,
// on a target whose fixtures the script cannot load, the environment), env.NAME (the
// environment, always), release (the release the suite runs on); NAME:-default gives a
// default; NAME:OFFSET:LENGTH is part of the value.
func (r *runner) lookupVar(ref string) (any, error) {
	if m := sliceRef().FindStringSubmatch(ref); m != nil {
		v, err := r.lookupVar(m[1])
		if err != nil {
			return nil, err
		}
		s := plain(v)
		from, _ := strconv.Atoi(m[2])
		to := len(s)
		if m[3] != "" {
			n, _ := strconv.Atoi(m[3])
			to = min(from+n, len(s))
		}
		if from > len(s) {
			from = len(s)
		}
		return s[from:to], nil
	}
	name, def, hasDef := strings.Cut(ref, ":-")
	if env, ok := strings.CutPrefix(name, "env."); ok {
		if v, ok := r.env(env); ok {
			return v, nil
		}
	} else {
		if v, ok := r.vars[name]; ok {
			return v, nil
		}
		if name == "release" {
			return r.main.release.Name, nil
		}
		if r.plainEnv {
			if v, ok := r.env(name); ok {
				return v, nil
			}
		}
	}
	if hasDef {
		return def, nil
	}
	if why, ok := r.unsaved[name]; ok {
		return nil, fmt.Errorf("${%s} is not set: %s", name, why)
	}
	return nil, fmt.Errorf("${%s} is neither saved by an earlier step nor set in the environment", name)
}

// expand replaces ${…} in s; a string that is only one reference becomes the value
// itself (a saved number stays a number).
func (r *runner) expand(s string) (any, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if m := wholeRef().FindStringSubmatch(s); m != nil {
		return r.lookupVar(m[1])
	}
	var firstErr error
	out := varRef().ReplaceAllStringFunc(s, func(ref string) string {
		v, err := r.lookupVar(ref[2 : len(ref)-1])
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return ref
		}
		return plain(v)
	})
	return out, firstErr
}

func (r *runner) str(s string) (string, error) {
	v, err := r.expand(s)
	if err != nil {
		return "", err
	}
	return plain(v), nil
}

// value replaces ${…} in every string of a YAML value.
func (r *runner) value(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return r.expand(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = r.value(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = r.value(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}
