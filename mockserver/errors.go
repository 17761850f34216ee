package mockserver

import (
	"fmt"
	"net/http"
)

// Code is a status.code of the envelope.
type Code string

// The error catalogue (INTERFACE §2). The real CRM.COM values are unknown (assumed);
// a scenario's `errors` map may replace code and message per error.
const (
	CodeOK                 Code = "OK"
	CodeInvalidRequest     Code = "INVALID_REQUEST"
	CodeInvalidCredentials Code = "INVALID_CREDENTIALS"
	CodeInvalidOrg         Code = "INVALID_ORGANISATION"
	CodeInvalidUnit        Code = "INVALID_UNIT"
	CodeInvalidKey         Code = "INVALID_WEB_API_KEY"
	CodeInvalidToken       Code = "INVALID_TOKEN"
	CodeTokenExpired       Code = "TOKEN_EXPIRED"
	CodeTokenReleased      Code = "TOKEN_RELEASED"
	CodeNotAvailable       Code = "METHOD_NOT_AVAILABLE"
	CodeTooLarge           Code = "REQUEST_TOO_LARGE"
	CodeInternal           Code = "INTERNAL_ERROR"
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

// apiError is an error answer: a catalogue code and a description naming the field.
type apiError struct {
	Code        Code
	Description string
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
