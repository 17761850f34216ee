package probe

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Shape is what can be said of a token without keeping it: its kind, length and
// alphabet (opaque), or its header, claims in order with their types, and exp - iat
// (JWT). Claim values are kept only for usr, org and oun (names, not secrets).
type Shape struct {
	Kind     string // "opaque" or "jwt"
	Length   int
	Alphabet string // opaque: the characters seen, as ranges ("0-9A-F")
	Header   string // JWT: the decoded header, verbatim
	Claims   []Claim
	Life     int64 // JWT: exp - iat in seconds; 0 when not both numbers
	Numeric  bool  // JWT: exp and iat are JSON numbers
	OUN      string
	Usr, Org string
}

// Claim is a JWT claim's name and the shape of its value.
type Claim struct{ Name, Type string }

// ShapeOf describes a token.
func ShapeOf(tok string) *Shape {
	parts := strings.Split(tok, ".")
	if len(parts) == 3 {
		if sh := jwtShape(parts); sh != nil {
			return sh
		}
	}
	return &Shape{Kind: "opaque", Length: len(tok), Alphabet: alphabetOf(tok)}
}

func jwtShape(parts []string) *Shape {
	head, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return nil
	}
	sh := &Shape{Kind: "jwt", Header: string(head)}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var iat, exp int64
	var haveIat, haveExp bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		c := Claim{Name: name, Type: valueType(v)}
		switch name {
		case "usr":
			sh.Usr, _ = v.(string)
		case "org":
			sh.Org, _ = v.(string)
		case "oun":
			sh.OUN, _ = v.(string)
			c.Type = stringShape(sh.OUN)
		case "jti":
			s, _ := v.(string)
			c.Type = stringShape(s)
		case "iat", "exp":
			var n int64
			var ok bool
			switch x := v.(type) {
			case json.Number:
				n, err = x.Int64()
				ok = err == nil
				sh.Numeric = true
			case string:
				n, err = strconv.ParseInt(x, 10, 64)
				ok = err == nil
			}
			if name == "iat" {
				iat, haveIat = n, ok
			} else {
				exp, haveExp = n, ok
			}
		}
		sh.Claims = append(sh.Claims, c)
	}
	if haveIat && haveExp {
		sh.Life = exp - iat
	}
	return sh
}

func valueType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case []any:
		return "array"
	}
	return "object"
}

// stringShape is a string's type with its length and alphabet: "string(32, 0-9A-F)".
func stringShape(s string) string {
	return fmt.Sprintf("string(%d, %s)", len(s), alphabetOf(s))
}

// alphabetOf names the characters of s as a scenario's token.alphabet would: hex when
// they all are ("0-9A-F", "0-9a-f"), else the classes seen ("0-9A-Za-z") and any others.
func alphabetOf(s string) string {
	var digit, upper, lower, upperHex, lowerHex bool
	other := map[rune]bool{}
	for _, c := range s {
		switch {
		case '0' <= c && c <= '9':
			digit = true
		case 'A' <= c && c <= 'F':
			upperHex = true
		case 'G' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'f':
			lowerHex = true
		case 'g' <= c && c <= 'z':
			lower = true
		default:
			other[c] = true
		}
	}
	if len(other) == 0 && !upper && !lower && !(upperHex && lowerHex) {
		switch {
		case lowerHex:
			return "0-9a-f"
		default:
			return "0-9A-F"
		}
	}
	var b strings.Builder
	if digit {
		b.WriteString("0-9")
	}
	if upper || upperHex {
		b.WriteString("A-Z")
	}
	if lower || lowerHex {
		b.WriteString("a-z")
	}
	rest := make([]string, 0, len(other))
	for c := range other {
		rest = append(rest, string(c))
	}
	sort.Strings(rest)
	b.WriteString(strings.Join(rest, ""))
	return b.String()
}

// ClaimNames is the claims in order.
func (s *Shape) ClaimNames() []string {
	out := make([]string, len(s.Claims))
	for i, c := range s.Claims {
		out[i] = c.Name
	}
	return out
}

// String is the normalised form verify compares: no value that changes per token.
func (s *Shape) String() string {
	if s == nil {
		return "no token"
	}
	if s.Kind == "opaque" {
		return fmt.Sprintf("opaque token of %d characters %s", s.Length, s.Alphabet)
	}
	cl := make([]string, len(s.Claims))
	for i, c := range s.Claims {
		cl[i] = c.Name + ":" + c.Type
	}
	return fmt.Sprintf("JWT header %s claims {%s} exp-iat=%ds", s.Header, strings.Join(cl, " "), s.Life)
}
