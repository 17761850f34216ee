// Package probe learns how a CRM.COM Web API installation answers, with a fixed,
// bounded, non-destructive plan of requests, and writes a scenario that makes crmmock
// answer alike (crmmock probe); it also runs the same plan against an installation and
// a mock loaded with such a scenario and lists the differences (crmmock verify). See
// docs/probe.md.
//
// Secrets (the password, the Web API key, every token the target issued) never leave
// this package: observations are scrubbed as they are read, and the scenario names the
// password and key as ${CRM_PASSWORD} and ${CRM_WEB_API_KEY}.
package probe

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Credentials are the target's, from flags or the CRM_* variables.
type Credentials struct {
	User, Password, Organisation, Unit, Key string
}

// HasUser tells whether a user login can be tried.
func (c Credentials) HasUser() bool {
	return c.User != "" && c.Password != "" && c.Organisation != ""
}

// Config is one run of the plan.
type Config struct {
	// Target is the Web API root, base path included (see TargetURL).
	Target string
	// Client sends the requests (nil: a client with a 15 s timeout).
	Client *http.Client
	// Header is added to every request (a gateway's headers).
	Header http.Header
	Creds  Credentials
	// Method is a read-only GET method (resource/action) to try tokens on, or "".
	Method string
	// MaxRequests bounds the requests sent (0: DefaultMaxRequests).
	MaxRequests int
	// Rate is the most requests per second (0: DefaultRate; negative: unbounded).
	Rate float64
	// NoLockoutRisk skips the wrong-password login.
	NoLockoutRisk bool
	// IncludeFixtures writes --method's data as answered, not only its shape.
	IncludeFixtures bool
}

// The default bounds: the plan has at most 21 requests, about 4 s at 5 per second.
const (
	DefaultMaxRequests = 60
	DefaultRate        = 5.0
	basePath           = "/crmapi/rest/v2"
)

// The values the plan sends on purpose: none is anyone's real name or secret.
const (
	probeUser     = "crmmock-probe-no-such-user"
	probePassword = "crmmock-probe-not-a-password"
	probeOrg      = "CRMMOCK-PROBE-NO-SUCH-ORGANISATION"
	probeUnit     = "CRMMOCK-PROBE-NO-SUCH-UNIT"
	probeKey      = "CRMMOCKPROBE00000000000000000000"
	probeToken    = "CRMMOCK-PROBE-NOT-A-TOKEN"
)

// TargetURL is the Web API root of a --target: a server root gets the base path, a URL
// that already ends in it (an installation's, a sandbox's base_url) is kept.
func TargetURL(target string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want the installation's URL, e.g. https://crm.example.com/crmapi/rest/v2 or http://127.0.0.1:8080", target)
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, basePath) {
		p += basePath
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u.String(), nil
}

// Step is one request of the plan.
type Step struct {
	ID    string // stable: "wrong_password", "login", …
	Title string // how verify names it: "wrong password"
	// Class is the failure class the step observes ("" for a success, or a step
	// that only tells whether a method exists).
	Class  string
	Method string // HTTP method
	Path   string // below the Web API root
	Sends  string // what it sends, secrets as placeholders (for --dry-run)
	When   string // the condition under which it is sent ("": always)
	// Availability marks a step that only tells whether a method exists (HTTP 404 or not).
	Availability bool
	build        func(s *state) *request // nil request: skipped (When not met)
}

type request struct {
	method, path string
	header       http.Header
	body         []byte
	query        url.Values
}

// state is what earlier steps learned, for later ones.
type state struct {
	userToken    string
	keyToken     string
	keyAvailable bool
	relAvailable bool
	released     string // the token the release step released
}

func (s *state) token() string {
	if s.userToken != "" {
		return s.userToken
	}
	return s.keyToken
}

func jsonBody(fields ...string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(fields); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", fields[i], fields[i+1])
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func post(path string, body []byte) *request {
	return &request{method: http.MethodPost, path: path, body: body,
		header: http.Header{"Content-Type": {"application/json"}}}
}

func basic(key, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+pass))
}

func orgOr(c Credentials) string {
	if c.Organisation != "" {
		return c.Organisation
	}
	return probeOrg
}

// Plan is the fixed plan: every request a run may send, in order. Nothing else is
// ever sent. Each step's When says when it is skipped.
func Plan(cfg Config) []Step { // long: one table of steps, read top to bottom in the order they are sent
	c := cfg.Creds
	steps := []Step{
		{ID: "login", Title: "login", Method: "POST", Path: "authentication/token",
			Sends: "the given username, password, organisation (and unit)", When: "--user, --password and --organisation are given",
			build: func(s *state) *request {
				if !c.HasUser() {
					return nil
				}
				f := []string{"username", c.User, "password", c.Password, "organisation", c.Organisation}
				if c.Unit != "" {
					f = append(f, "unit", c.Unit)
				}
				return post("authentication/token", jsonBody(f...))
			}},
		{ID: "wrong_password", Title: "wrong password", Class: "wrong_password", Method: "POST", Path: "authentication/token",
			Sends: "the given username and organisation with a wrong password (the only one of the run)",
			When:  "the given user's login succeeded and --no-lockout-risk is not given",
			build: func(s *state) *request {
				if s.userToken == "" || cfg.NoLockoutRisk || c.Password == probePassword { // a refused login was wrong already
					return nil
				}
				return post("authentication/token", jsonBody("username", c.User, "password", probePassword, "organisation", c.Organisation))
			}},
		{ID: "unknown_user", Title: "unknown user", Class: "unknown_user", Method: "POST", Path: "authentication/token",
			Sends: "username " + probeUser + " in the given organisation", When: "--organisation is given",
			build: func(s *state) *request {
				if c.Organisation == "" {
					return nil
				}
				return post("authentication/token", jsonBody("username", probeUser, "password", probePassword, "organisation", c.Organisation))
			}},
		{ID: "unknown_organisation", Title: "unknown organisation", Class: "unknown_organisation", Method: "POST", Path: "authentication/token",
			Sends: "username " + probeUser + " in organisation " + probeOrg,
			build: func(s *state) *request {
				return post("authentication/token", jsonBody("username", probeUser, "password", probePassword, "organisation", probeOrg))
			}},
		{ID: "unknown_unit", Title: "unknown unit", Class: "unknown_unit", Method: "POST", Path: "authentication/token",
			Sends: "the given credentials with unit " + probeUnit, When: "the given user's login succeeded",
			build: func(s *state) *request {
				if s.userToken == "" {
					return nil
				}
				return post("authentication/token", jsonBody("username", c.User, "password", c.Password, "organisation", c.Organisation, "unit", probeUnit))
			}},
		{ID: "missing_field", Title: "missing field", Class: "missing_field", Method: "POST", Path: "authentication/token",
			Sends: "username " + probeUser + " and an organisation, no password",
			build: func(s *state) *request {
				return post("authentication/token", jsonBody("username", probeUser, "organisation", orgOr(c)))
			}},
		{ID: "malformed_json", Title: "malformed JSON", Class: "malformed_json", Method: "POST", Path: "authentication/token",
			Sends: `the body {"username":`,
			build: func(s *state) *request { return post("authentication/token", []byte(`{"username":`)) }},
		{ID: "wrong_content_type", Title: "wrong content type", Class: "wrong_content_type", Method: "POST", Path: "authentication/token",
			Sends: "username " + probeUser + " as JSON with Content-Type: text/plain",
			build: func(s *state) *request {
				r := post("authentication/token", jsonBody("username", probeUser, "password", probePassword, "organisation", orgOr(c)))
				r.header.Set("Content-Type", "text/plain")
				return r
			}},
		{ID: "wrong_method", Title: "GET on a POST method", Class: "wrong_method", Method: "GET", Path: "authentication/token",
			Sends: "nothing",
			build: func(s *state) *request { return &request{method: http.MethodGet, path: "authentication/token"} }},
		{ID: "unknown_key", Title: "unknown key", Class: "unknown_key", Method: "POST", Path: "authentication/web_api_key/token",
			Sends: "Basic key " + probeKey + " (HTTP 404: the method is not available)",
			build: func(s *state) *request {
				r := post("authentication/web_api_key/token", nil)
				r.header.Set("Authorization", basic(probeKey, ""))
				return r
			}},
		{ID: "key_login", Title: "key login", Method: "POST", Path: "authentication/web_api_key/token",
			Sends: "the given key as the Basic username", When: "--key is given and key logins are available",
			build: func(s *state) *request {
				if c.Key == "" || !s.keyAvailable {
					return nil
				}
				r := post("authentication/web_api_key/token", nil)
				r.header.Set("Authorization", basic(c.Key, ""))
				return r
			}},
		{ID: "key_with_password", Title: "key with a password", Class: "key_with_password", Method: "POST", Path: "authentication/web_api_key/token",
			Sends: "the given key (else " + probeKey + ") with a Basic password", When: "key logins are available",
			build: func(s *state) *request {
				if !s.keyAvailable {
					return nil
				}
				key := c.Key
				if key == "" {
					key = probeKey
				}
				r := post("authentication/web_api_key/token", nil)
				r.header.Set("Authorization", basic(key, "crmmock-probe"))
				return r
			}},
		{ID: "release_unknown", Title: "release of an unknown token", Class: "invalid_token", Method: "POST", Path: "authentication/token/release",
			Sends: "token " + probeToken + " (HTTP 404: release is not available)",
			build: func(s *state) *request {
				return post("authentication/token/release", jsonBody("token", probeToken))
			}},
	}
	for _, m := range laterMethods {
		steps = append(steps, Step{ID: "available:" + m.path, Title: m.path + " available", Method: "POST", Path: m.path,
			Sends: "{} (no credentials: only whether it exists)", Availability: true,
			build: func(s *state) *request { return post(m.path, []byte(`{}`)) }})
	}
	if cfg.Method != "" {
		get := func(tok string) *request {
			return &request{method: http.MethodGet, path: cfg.Method, query: url.Values{"token": {tok}}}
		}
		steps = append(steps,
			Step{ID: "method", Title: "GET " + cfg.Method, Method: "GET", Path: cfg.Method,
				Sends: "a fresh token", When: "a login gave a token",
				build: func(s *state) *request {
					if s.token() == "" {
						return nil
					}
					return get(s.token())
				}},
			Step{ID: "method_garbage", Title: "GET " + cfg.Method + " with an unknown token", Class: "invalid_token", Method: "GET", Path: cfg.Method,
				Sends: "token " + probeToken,
				build: func(s *state) *request { return get(probeToken) }},
			Step{ID: "method_truncated", Title: "GET " + cfg.Method + " with a truncated token", Class: "truncated_token", Method: "GET", Path: cfg.Method,
				Sends: "the first half of the fresh token", When: "a login gave a token",
				build: func(s *state) *request {
					if s.token() == "" {
						return nil
					}
					return get(s.token()[:len(s.token())/2])
				}})
	}
	steps = append(steps, Step{ID: "release", Title: "release", Method: "POST", Path: "authentication/token/release",
		Sends: "the fresh token (the run's one release)", When: "a login gave a token and release is available",
		build: func(s *state) *request {
			if s.token() == "" || !s.relAvailable {
				return nil
			}
			return post("authentication/token/release", jsonBody("token", s.token()))
		}})
	if cfg.Method != "" {
		steps = append(steps, Step{ID: "method_released", Title: "GET " + cfg.Method + " with a released token", Class: "released_token",
			Method: "GET", Path: cfg.Method, Sends: "the released token", When: "the release step released it",
			build: func(s *state) *request {
				if s.released == "" {
					return nil
				}
				return &request{method: http.MethodGet, path: cfg.Method, query: url.Values{"token": {s.released}}}
			}})
	}
	return steps
}

// laterMethods are the authentication methods of later releases (docs/web-api.md,
// "Releases as data"): the plan asks only whether each exists.
var laterMethods = []struct {
	path string
	from int // the release major it exists from
}{
	{"access_tokens/generate_otp", 13},
	{"authentication/consumer_application_key/token", 15},
	{"authentication/device_application_key/token", 15},
}

// WritePlan prints the plan whole (--dry-run): one line per request, its condition, and
// the bounds.
func WritePlan(w io.Writer, cfg Config, target string) {
	steps := Plan(cfg)
	fmt.Fprintf(w, "crmmock probe plan for %s (%d requests at most; nothing else is sent):\n", target, len(steps))
	for i, st := range steps {
		when := ""
		if st.When != "" {
			when = "  [when " + st.When + "]"
		}
		fmt.Fprintf(w, "%2d. %-4s %-46s %s: %s%s\n", i+1, st.Method, st.Path, st.Title, st.Sends, when)
	}
	maxReq, rate := cfg.bounds()
	rateText := "unbounded"
	if rate > 0 {
		rateText = fmt.Sprintf("%g per second, about %s", rate, (time.Duration(float64(len(steps)-1) / rate * float64(time.Second))).Round(100*time.Millisecond))
	}
	fmt.Fprintf(w, "bounds: --max-requests %d, --rate %s\n", maxReq, rateText)
}

func (c Config) bounds() (int, float64) {
	maxReq, rate := c.MaxRequests, c.Rate
	if maxReq == 0 {
		maxReq = DefaultMaxRequests
	}
	if rate == 0 {
		rate = DefaultRate
	}
	return maxReq, rate
}
