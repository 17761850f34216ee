// Package wire holds the names the mock answers with and its lint judges by, defined
// once: the status codes of the envelope's catalogue, the kinds and states of tokens,
// and the names of the release profiles. mockserver re-exports them with their own
// types (mockserver.CodeOK, mockserver.KindKey, …); internal/tokens types them for the
// store; internal/lint compares the plain strings of its input with them. It imports
// nothing, so every package may import it.
package wire

// The envelope's status codes (docs/web-api.md): mockserver's error catalogue.
const (
	CodeOK                 = "OK"
	CodeInvalidRequest     = "INVALID_REQUEST"
	CodeInvalidCredentials = "INVALID_CREDENTIALS"
	CodeInvalidOrg         = "INVALID_ORGANISATION"
	CodeInvalidUnit        = "INVALID_UNIT"
	CodeInvalidKey         = "INVALID_WEB_API_KEY"
	CodeInvalidToken       = "INVALID_TOKEN"
	CodeTokenExpired       = "TOKEN_EXPIRED"
	CodeTokenReleased      = "TOKEN_RELEASED"
	CodeNotAvailable       = "METHOD_NOT_AVAILABLE"
	CodeTooLarge           = "REQUEST_TOO_LARGE"
	CodeInternal           = "INTERNAL_ERROR"
)

// Token kinds: which method issued a token.
const (
	KindUser     = "user"                     // authentication/token
	KindKey      = "web_api_key"              // authentication/web_api_key/token
	KindConsumer = "consumer_application_key" // authentication/consumer_application_key/token (F15)
	KindDevice   = "device_application_key"   // authentication/device_application_key/token (F18)
)

// Token states at a moment of the mock's clock.
const (
	StateLive     = "live"
	StateExpired  = "expired"
	StateReleased = "released"
)

// Release profile names: the ranges of releases of the mock's table of token rules.
const (
	ProfilePreR10 = "pre-R10" // before R10
	ProfileR10    = "R10"     // R10, R11
	ProfileR12    = "R12"     // R12 and later
)
