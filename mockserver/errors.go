package mockserver

import (
	"fmt"
	"net/http"

	"github.com/crmmock/crmmock/internal/wire"
)

// Code is a status.code of the envelope.
type Code string

// The error catalogue (docs/web-api.md). The real CRM.COM values are unknown (assumed);
// a scenario's `errors` map may replace code and message per error.
const (
	CodeOK                 Code = wire.CodeOK                 // "OK"
	CodeInvalidRequest     Code = wire.CodeInvalidRequest     // "INVALID_REQUEST"
	CodeInvalidCredentials Code = wire.CodeInvalidCredentials // "INVALID_CREDENTIALS"
	CodeInvalidOrg         Code = wire.CodeInvalidOrg         // "INVALID_ORGANISATION"
	CodeInvalidUnit        Code = wire.CodeInvalidUnit        // "INVALID_UNIT"
	CodeInvalidKey         Code = wire.CodeInvalidKey         // "INVALID_WEB_API_KEY"
	CodeInvalidToken       Code = wire.CodeInvalidToken       // "INVALID_TOKEN"
	CodeTokenExpired       Code = wire.CodeTokenExpired       // "TOKEN_EXPIRED"
	CodeTokenReleased      Code = wire.CodeTokenReleased      // "TOKEN_RELEASED"
	CodeNotAvailable       Code = wire.CodeNotAvailable       // "METHOD_NOT_AVAILABLE"
	CodeTooLarge           Code = wire.CodeTooLarge           // "REQUEST_TOO_LARGE"
	CodeInternal           Code = wire.CodeInternal           // "INTERNAL_ERROR"
)

// catalogue gives each code its default human message and its HTTP status under
// --error-status mapped. It is the only place codes are described.
var catalogue = map[Code]struct {
	Message string
	Mapped  int
}{
	CodeInvalidRequest:     {"The request is not valid", http.StatusBadRequest},
	CodeInvalidCredentials: {"Invalid username or password", http.StatusUnauthorized},
	CodeInvalidOrg:         {"Invalid organisation", http.StatusUnauthorized},
	CodeInvalidUnit:        {"Invalid unit", http.StatusForbidden},
	CodeInvalidKey:         {"Invalid Web API key", http.StatusUnauthorized},
	CodeInvalidToken:       {"Invalid token", http.StatusUnauthorized},
	CodeTokenExpired:       {"The token has expired", http.StatusUnauthorized},
	CodeTokenReleased:      {"The token has been released", http.StatusUnauthorized},
	CodeNotAvailable:       {"The method is not available in this release", http.StatusNotFound},
	CodeTooLarge:           {"The request is too large", http.StatusRequestEntityTooLarge},
	CodeInternal:           {"Internal error", http.StatusInternalServerError},
}

// Codes lists the catalogue's error codes.
func Codes() []Code {
	return []Code{CodeInvalidRequest, CodeInvalidCredentials, CodeInvalidOrg, CodeInvalidUnit,
		CodeInvalidKey, CodeInvalidToken, CodeTokenExpired, CodeTokenReleased, CodeNotAvailable,
		CodeTooLarge, CodeInternal}
}

func knownCode(c Code) bool { _, ok := catalogue[c]; return ok }

// Class is a failure class: what went wrong, finer than a catalogue code (several
// classes share INVALID_REQUEST or INVALID_CREDENTIALS). A scenario's `errors` may be
// keyed by class to imitate an installation that tells them apart (docs/scenarios.md); a class without an entry falls back to its code's.
type Class string

// The failure classes, each with the catalogue code it answers by default.
const (
	ClassWrongPassword      Class = "wrong_password"
	ClassUnknownUser        Class = "unknown_user"
	ClassUnknownOrg         Class = "unknown_organisation"
	ClassUnknownUnit        Class = "unknown_unit"
	ClassMissingField       Class = "missing_field"
	ClassMalformedJSON      Class = "malformed_json"
	ClassWrongContentType   Class = "wrong_content_type"
	ClassWrongMethod        Class = "wrong_method"
	ClassUnknownKey         Class = "unknown_key"
	ClassKeyWithPassword    Class = "key_with_password"
	ClassInvalidToken       Class = "invalid_token"
	ClassTruncatedToken     Class = "truncated_token"
	ClassExpiredToken       Class = "expired_token"
	ClassReleasedToken      Class = "released_token"
	ClassMethodNotAvailable Class = "method_not_available"
)

// classCodes is each class's catalogue code, in the order docs/scenarios.md lists them.
var classCodes = []struct {
	Class Class
	Code  Code
}{
	{ClassWrongPassword, CodeInvalidCredentials}, {ClassUnknownUser, CodeInvalidCredentials},
	{ClassUnknownOrg, CodeInvalidOrg}, {ClassUnknownUnit, CodeInvalidUnit},
	{ClassMissingField, CodeInvalidRequest}, {ClassMalformedJSON, CodeInvalidRequest},
	{ClassWrongContentType, CodeInvalidRequest}, {ClassWrongMethod, CodeInvalidRequest},
	{ClassUnknownKey, CodeInvalidKey}, {ClassKeyWithPassword, CodeInvalidKey},
	{ClassInvalidToken, CodeInvalidToken}, {ClassTruncatedToken, CodeInvalidToken},
	{ClassExpiredToken, CodeTokenExpired}, {ClassReleasedToken, CodeTokenReleased},
	{ClassMethodNotAvailable, CodeNotAvailable},
}

// Classes lists the failure classes.
func Classes() []Class {
	out := make([]Class, len(classCodes))
	for i, c := range classCodes {
		out[i] = c.Class
	}
	return out
}

// ClassCode is the catalogue code a failure class answers unless a scenario says otherwise.
func ClassCode(c Class) (Code, bool) {
	for _, cc := range classCodes {
		if cc.Class == c {
			return cc.Code, true
		}
	}
	return "", false
}

// apiError is an error answer: a catalogue code and a description naming the field.
type apiError struct {
	Code        Code
	Description string
	// Class is the failure class, when the error is one (see Class); "" otherwise.
	Class Class
	// HTTP, when non-zero, is the status regardless of --error-status
	// (METHOD_NOT_AVAILABLE is always 404; an unknown path is always 404).
	HTTP int
	// Mapped, when non-zero, replaces the catalogue's status under --error-status mapped.
	Mapped int
	// Violation marks a request the contract rejected.
	Violation bool
	// Allow is the Allow header of a 405: the methods the path takes.
	Allow string
}

func (e *apiError) Error() string { return string(e.Code) + ": " + e.Description }

func errorf(code Code, format string, args ...any) *apiError {
	return &apiError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// classed sets the error's failure class.
func (e *apiError) classed(c Class) *apiError { e.Class = c; return e }

// status is the HTTP status of an error answer.
func (e *apiError) status(mapped bool) int {
	switch {
	case e.HTTP != 0:
		return e.HTTP
	case e.Code == CodeNotAvailable:
		return http.StatusNotFound
	case !mapped:
		return http.StatusOK
	case e.Mapped != 0:
		return e.Mapped
	}
	if c, ok := catalogue[e.Code]; ok {
		return c.Mapped
	}
	return http.StatusInternalServerError
}
