package mockserver

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	yamlscenario "github.com/crmmock/crmmock/internal/scenario"
)

// Scenario is the fixtures file of docs/scenarios.md (YAML, or the same keys in JSON).
type Scenario struct {
	Version  string       `yaml:"version,omitempty" json:"version,omitempty"`
	Clock    ClockSpec    `yaml:"clock,omitempty" json:"clock,omitempty"`
	JWT      JWTSpec      `yaml:"jwt,omitempty" json:"jwt,omitempty"`
	Token    TokenSpec    `yaml:"token,omitempty" json:"token,omitempty"`
	Contract ContractSpec `yaml:"contract,omitempty" json:"contract,omitempty"`
	Limits   LimitsSpec   `yaml:"limits,omitempty" json:"limits,omitempty"`
	// Errors is keyed by catalogue code (INVALID_CREDENTIALS) or by failure class
	// (wrong_password, see Classes); a class's entry wins over its code's, field by field.
	Errors        map[Code]ErrorOverride `yaml:"errors,omitempty" json:"errors,omitempty"`
	OTP           OTPSpec                `yaml:"otp,omitempty" json:"otp,omitempty"`
	Organisations []Organisation         `yaml:"organisations" json:"organisations"`
	Methods       []MethodData           `yaml:"methods,omitempty" json:"methods,omitempty"`
}

// ClockSpec sets the fake clock's start.
type ClockSpec struct {
	Start string `yaml:"start,omitempty" json:"start,omitempty"` // RFC 3339
}

// JWTSpec shapes R12+ tokens.
type JWTSpec struct {
	// NumericDates makes iat/exp JSON numbers instead of strings (F10: strings in every
	// published token).
	NumericDates bool `yaml:"numeric_dates,omitempty" json:"numeric_dates,omitempty"`
	// Lifetime is exp - iat, and how long a JWT lives after issue (Go duration or
	// seconds; default 2h, F9/F10).
	Lifetime Duration `yaml:"lifetime,omitempty" json:"lifetime,omitempty"`
	// Header is the JWT header, verbatim JSON (default {"typ":"JWT","alg":"HS256"},
	// F10); alg must stay HS256.
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	// ClaimsOrder is the order the claims are serialised in: a permutation of usr,
	// org, oun, exp, iat, jti (default: that order, F21).
	ClaimsOrder []string `yaml:"claims_order,omitempty" json:"claims_order,omitempty"`
	// AccountsReceivableClaim names the consumer tokens' accounts receivable claim:
	// "acr" (default, F16) or "ari" (the spelling of the docs' example token).
	AccountsReceivableClaim string `yaml:"accounts_receivable_claim,omitempty" json:"accounts_receivable_claim,omitempty"`
}

// OTPSpec shapes the one-time passwords of access_tokens/generate_otp (F17; assumed:
// 6 random digits, valid 10 minutes).
type OTPSpec struct {
	// Fixed, when set, is every OTP (6 digits), so a test can type it.
	Fixed string `yaml:"fixed,omitempty" json:"fixed,omitempty"`
	// Lifetime is how long an OTP is valid on the mock clock (Go duration); default 10m.
	Lifetime string `yaml:"lifetime,omitempty" json:"lifetime,omitempty"`
}

// TokenSpec shapes opaque (pre-R12) tokens.
type TokenSpec struct {
	// OpaqueLength is the length of an opaque token (default 32, F6).
	OpaqueLength int `yaml:"opaque_length,omitempty" json:"opaque_length,omitempty"`
	// Alphabet is the characters an opaque token is drawn from, as ranges and
	// characters: "0-9A-F" (the default, F6), "0-9a-f", "0-9A-Za-z".
	Alphabet string `yaml:"alphabet,omitempty" json:"alphabet,omitempty"`
}

// Duration is a Go duration ("2h", "90m") or a number of seconds in a scenario.
type Duration time.Duration

// UnmarshalYAML reads "2h" or 7200.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration (\"2h\") or seconds (7200)", n.Line)
	}
	if secs, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		*d = Duration(time.Duration(secs) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q: want a duration (\"2h\") or seconds (7200)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as Go writes it ("2h0m0s").
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ContractSpec switches the contract's assumed strictness.
type ContractSpec struct {
	// LenientContentType accepts a POST body without a Content-Type header as JSON
	// (assumed: whether CRM.COM enforces application/json is unknown).
	LenientContentType bool `yaml:"lenient_content_type,omitempty" json:"lenient_content_type,omitempty"`
	// OrganizationSpelling accepts the login field `organization` (F14: an early page
	// spells it so) as `organisation`; off, it is answered as a missing organisation.
	OrganizationSpelling bool `yaml:"organization_spelling,omitempty" json:"organization_spelling,omitempty"`
}

// LimitsSpec bounds what the mock holds under this scenario, below the process's own
// bounds (a sandbox may test a client against a small token store).
type LimitsSpec struct {
	// MaxTokens, when positive, bounds the tokens the mock holds as Options.MaxTokens
	// (--max-tokens) does; the lower of the two applies.
	MaxTokens int `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
}

// ErrorOverride replaces what an error answers with; each field left out keeps the
// code's entry (for a class) or the mock's own.
type ErrorOverride struct {
	Code    string `yaml:"code,omitempty" json:"code,omitempty"`
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
	// Description, when set (even to ""), replaces the mock's reason.
	Description *string `yaml:"description,omitempty" json:"description,omitempty"`
	// HTTPStatus, when set, is the HTTP status whatever --error-status says.
	HTTPStatus int `yaml:"http_status,omitempty" json:"http_status,omitempty"`
}

// Organisation holds units, users and Web API keys.
type Organisation struct {
	Name       string      `yaml:"name" json:"name"`
	Units      []Unit      `yaml:"units" json:"units"`
	Users      []User      `yaml:"users,omitempty" json:"users,omitempty"`
	WebAPIKeys []WebAPIKey `yaml:"web_api_keys,omitempty" json:"web_api_keys,omitempty"`
	// AccessTokens log a user in by access_token_identifier (F12, F15).
	AccessTokens []AccessToken `yaml:"access_tokens,omitempty" json:"access_tokens,omitempty"`
	// ConsumerApplicationKeys are the Basic keys of consumer_application_key/token (F15).
	ConsumerApplicationKeys []ConsumerApplicationKey `yaml:"consumer_application_keys,omitempty" json:"consumer_application_keys,omitempty"`
	// InstalledItems log in by device_application_key/token (F18).
	InstalledItems []InstalledItem `yaml:"installed_items,omitempty" json:"installed_items,omitempty"`
	// IdentityProvider checks the `jwt` of consumer (R16.2+) and the `jwt_token` of
	// device logins: HS256 with Secret, `iss` equal to Issuer when set.
	IdentityProvider *IdentityProvider `yaml:"identity_provider,omitempty" json:"identity_provider,omitempty"`
}

// AccessToken is a customer's credentials (F12): an authentication code, or an
// identifier and pass code, naming the user it logs in and, for consumer tokens
// (F16), the contact (cii) and accounts receivable (acr). ID and Number are what
// generate_otp answers (defaults derived from the identifier).
type AccessToken struct {
	ID                 string `yaml:"id,omitempty" json:"id,omitempty"`
	Number             string `yaml:"number,omitempty" json:"number,omitempty"`
	AuthenticationCode string `yaml:"authentication_code,omitempty" json:"authentication_code,omitempty"`
	Identifier         string `yaml:"identifier,omitempty" json:"identifier,omitempty"`
	PassCode           string `yaml:"pass_code,omitempty" json:"pass_code,omitempty"`
	User               string `yaml:"user" json:"user"`
	Contact            string `yaml:"contact,omitempty" json:"contact,omitempty"`
	AccountsReceivable string `yaml:"accounts_receivable,omitempty" json:"accounts_receivable,omitempty"`
}

// ConsumerApplicationKey is a consumer application's key (F15), of its organisation.
type ConsumerApplicationKey struct {
	Key string `yaml:"key" json:"key"`
}

// InstalledItem is a device (F18) logging in as User.
type InstalledItem struct {
	Identifier string `yaml:"identifier" json:"identifier"`
	User       string `yaml:"user" json:"user"`
}

// IdentityProvider is the identity management system whose JWTs log customers in.
type IdentityProvider struct {
	Secret string `yaml:"secret" json:"secret"`
	Issuer string `yaml:"issuer,omitempty" json:"issuer,omitempty"`
}

// Unit is an organisational unit; OUN is the JWT's `oun` claim (F10).
type Unit struct {
	ID   string `yaml:"id" json:"id"`
	OUN  string `yaml:"oun,omitempty" json:"oun,omitempty"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
}

// User may log in with a password; Units (ids) default to every unit of the organisation.
type User struct {
	Username    string   `yaml:"username" json:"username"`
	Password    string   `yaml:"password" json:"password"`
	DefaultUnit string   `yaml:"default_unit,omitempty" json:"default_unit,omitempty"`
	Units       []string `yaml:"units,omitempty" json:"units,omitempty"`
}

// WebAPIKey represents its user (F7); Units default to the user's. A key token is
// issued in the user's default unit, or, when the key may not use it, in the first of
// Units.
type WebAPIKey struct {
	Key   string   `yaml:"key" json:"key"`
	User  string   `yaml:"user" json:"user"`
	Units []string `yaml:"units,omitempty" json:"units,omitempty"`
}

// MethodData is what another Web API method answers: Data in `data`, or Error as an
// injected fault (any catalogue code, e.g. INTERNAL_ERROR).
type MethodData struct {
	Method string `yaml:"method" json:"method"`
	Path   string `yaml:"path" json:"path"`
	Data   any    `yaml:"data,omitempty" json:"data,omitempty"`
	Error  Code   `yaml:"error,omitempty" json:"error,omitempty"`
}

//go:generate go run ./internal/gendefault

// defaultScenario is scenarios/default.yaml compiled to Go (default_scenario_gen.go,
// checked by its generator), built once: the YAML decoder's first run was most of a
// process's New.
var defaultScenario = sync.OnceValue(defaultScenarioLiteral)

// DefaultScenario returns the built-in scenarios/default.yaml (built once per process;
// treat it as read-only).
func DefaultScenario() *Scenario { return defaultScenario() }

// ParseScenario reads and checks a scenario (YAML or JSON). Errors name the line.
func ParseScenario(data []byte) (*Scenario, error) {
	sc, _, err := parseScenario(data)
	return sc, err
}

// ParseScenarioEnv is ParseScenario for a scenario file: each `${VAR}` or
// `${VAR:-default}` in a value is expanded through lookup (os.LookupEnv for a file the
// user names), so secrets stay out of files. A variable that is unset and has no
// default is a load error naming the line. (Scenarios sent to the control API are not
// expanded: a client must not read the server's environment back.)
func ParseScenarioEnv(data []byte, lookup func(string) (string, bool)) (*Scenario, error) {
	sc, _, err := parseScenarioWith(data, lookup)
	return sc, err
}

// parseScenario is ParseScenario with the compiled fixtures, ready to install.
func parseScenario(data []byte) (*Scenario, *world, error) { return parseScenarioWith(data, nil) }

func parseScenarioWith(data []byte, lookup func(string) (string, bool)) (*Scenario, *world, error) {
	var sc Scenario
	root, err := yamlscenario.Decode(data, &sc, lookup)
	if err != nil {
		return nil, nil, err
	}
	w, err := compile(&sc, root)
	if err != nil {
		return nil, nil, err
	}
	return &sc, w, nil
}

// world is a scenario compiled into indexes: what the handlers read.
type world struct {
	orgs         map[string]*org
	keys         map[string]*apiKey
	methods      map[string]*methodAnswer // "GET contact_information/show"
	errors       map[Code]ErrorOverride
	jwtShape     *jwtShape
	opaque       opaqueShape
	arClaim      string // the consumer tokens' accounts receivable claim: acr or ari
	consumerKeys map[string]*consumerKey
	items        map[string]*installedItem
	otpFixed     string
	otpLife      time.Duration
	lenientCT    bool
	orgSpelling  bool
	version      string
	start        time.Time
	maxTokens    int // limits.max_tokens; 0: none of the scenario's own
}

type org struct {
	name  string
	units map[string]*unit // by id and by name
	users map[string]*user
	// access tokens by authentication code and by identifier
	byCode, byIdentifier map[string]*accessToken
	idp                  *IdentityProvider // nil: no identity provider
}

type accessToken struct {
	id, number, code, identifier, passCode string
	user                                   *user
	contact, receivable                    string
}

type consumerKey struct {
	key string
	org *org
}

type installedItem struct {
	identifier string
	user       *user
}

type unit struct{ id, oun, name string }

type user struct {
	username, password string
	org                *org
	defaultUnit        *unit
	units              map[*unit]bool // nil: every unit of the organisation
}

type apiKey struct {
	key   string
	user  *user
	units map[*unit]bool // nil: the user's
	// first is the first unit of the key's units list, in scenario order: its unit
	// when it may not use its user's default unit. Nil when the key has no list.
	first *unit
	login appLogin // what its tokens point to: {kind: web_api_key, key: this key}
}

type methodAnswer struct {
	data any // compactJSON, boxed once
	err  Code
}

func (u *user) mayUse(x *unit) bool { return u.units == nil || u.units[x] }

func (k *apiKey) mayUse(x *unit) bool {
	if k.units != nil {
		return k.units[x]
	}
	return k.user.mayUse(x)
}

func lineErr(root *yaml.Node, format string, args ...any) func(path ...any) error {
	return func(path ...any) error {
		msg := fmt.Sprintf(format, args...)
		if root == nil { // a scenario built in Go has no lines
			return errors.New(msg)
		}
		return fmt.Errorf("line %d: %s", yamlscenario.LineOf(root, path...), msg)
	}
}

// errorsInOrder is the codes of a scenario's errors: section as the document lists
// them (by name where it does not, as for a scenario built in Go), so a load error
// always names the first mistake.
func errorsInOrder(errs map[Code]ErrorOverride, root *yaml.Node) []Code {
	codes := slices.Sorted(maps.Keys(errs))
	if root == nil {
		return codes
	}
	pos := map[Code]int{}
	for i, k := range yamlscenario.KeyOrder(root, "errors") {
		pos[Code(k)] = i + 1
	}
	at := func(c Code) int { // keys the document does not list by name come after
		if p, ok := pos[c]; ok {
			return p
		}
		return math.MaxInt
	}
	slices.SortStableFunc(codes, func(a, b Code) int { return cmp.Compare(at(a), at(b)) })
	return codes
}

var methodPath = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)+$`) }) // F19: two or more segments

// compile checks a scenario (duplicates, dangling references) and indexes it.
func compile(sc *Scenario, root *yaml.Node) (*world, error) {
	w := &world{
		orgs:         map[string]*org{},
		keys:         map[string]*apiKey{},
		methods:      map[string]*methodAnswer{},
		errors:       map[Code]ErrorOverride{},
		arClaim:      "acr",
		consumerKeys: map[string]*consumerKey{},
		items:        map[string]*installedItem{},
		otpLife:      defaultOTPLife,
		lenientCT:    sc.Contract.LenientContentType,
		orgSpelling:  sc.Contract.OrganizationSpelling,
	}
	if err := compileSettings(w, sc, root); err != nil {
		return nil, err
	}
	if len(sc.Organisations) == 0 {
		return nil, lineErr(root, "organisations: at least one organisation is needed")("organisations")
	}
	for oi, o := range sc.Organisations {
		if err := compileOrg(w, o, oi, root); err != nil {
			return nil, err
		}
	}
	if err := compileMethods(w, sc.Methods, root); err != nil {
		return nil, err
	}
	return w, nil
}

// compileSettings checks and sets a scenario's settings besides its fixtures: limits,
// version, clock, JWT and opaque token shapes, one-time passwords, error overrides.
func compileSettings(w *world, sc *Scenario, root *yaml.Node) error {
	if sc.Limits.MaxTokens < 0 {
		return lineErr(root, "limits: max_tokens: %d is negative (0 or absent: the mock's --max-tokens)", sc.Limits.MaxTokens)("limits", "max_tokens")
	}
	w.maxTokens = sc.Limits.MaxTokens
	if sc.Version != "" {
		r, err := ParseRelease(sc.Version)
		if err != nil {
			return lineErr(root, "version: %v", err)("version")
		}
		w.version = r.Name
	}
	if sc.Clock.Start != "" {
		t, err := time.Parse(time.RFC3339, sc.Clock.Start)
		if err != nil {
			return lineErr(root, "clock.start %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", sc.Clock.Start)("clock", "start")
		}
		w.start = t.UTC()
	}
	switch c := sc.JWT.AccountsReceivableClaim; c {
	case "", "acr":
	case "ari":
		w.arClaim = c
	default:
		return lineErr(root, "jwt.accounts_receivable_claim: %q: want acr (F16) or ari (the docs' example token)", c)("jwt", "accounts_receivable_claim")
	}
	if f := sc.OTP.Fixed; f != "" && !otpPattern().MatchString(f) {
		return lineErr(root, "otp.fixed: want 6 digits, e.g. \"073482\"")("otp", "fixed")
	}
	w.otpFixed = sc.OTP.Fixed
	if l := sc.OTP.Lifetime; l != "" {
		d, err := time.ParseDuration(l)
		if err != nil || d <= 0 {
			return lineErr(root, "otp.lifetime: %q: want a positive Go duration, e.g. 10m", l)("otp", "lifetime")
		}
		w.otpLife = d
	}
	for _, code := range errorsInOrder(sc.Errors, root) {
		o := sc.Errors[code]
		if _, class := ClassCode(Class(code)); !knownCode(code) && !class {
			return lineErr(root, "errors: unknown error code %q (want one of %v, or a failure class: %v)", code, Codes(), Classes())("errors", string(code))
		}
		if o.HTTPStatus != 0 && (o.HTTPStatus < 200 || o.HTTPStatus > 599) {
			return lineErr(root, "errors: %s: http_status %d: want 200 to 599", code, o.HTTPStatus)("errors", string(code), "http_status")
		}
		w.errors[code] = o
	}
	var err error
	if w.jwtShape, err = compileJWT(sc.JWT); err != nil {
		key, _, _ := strings.Cut(err.Error(), " ") // the error starts with the key
		return lineErr(root, "jwt: %v", err)("jwt", key)
	}
	if w.opaque, err = compileOpaque(sc.Token); err != nil {
		key, _, _ := strings.Cut(err.Error(), " ")
		return lineErr(root, "token: %v", err)("token", key)
	}
	return nil
}

// compileOrg checks and indexes organisation oi: its units, users, Web API keys and
// customer fixtures.
func compileOrg(w *world, o Organisation, oi int, root *yaml.Node) error {
	at := func(p ...any) []any { return append([]any{"organisations", oi}, p...) }
	if o.Name == "" {
		return lineErr(root, "organisation without a name")(at()...)
	}
	if _, dup := w.orgs[o.Name]; dup {
		return lineErr(root, "duplicate organisation %q", o.Name)(at("name")...)
	}
	g := &org{name: o.Name, units: map[string]*unit{}, users: map[string]*user{},
		byCode: map[string]*accessToken{}, byIdentifier: map[string]*accessToken{}, idp: o.IdentityProvider}
	w.orgs[o.Name] = g
	if len(o.Units) == 0 {
		return lineErr(root, "organisation %q has no units", o.Name)(at()...)
	}
	if err := compileUnits(g, o, root, at); err != nil {
		return err
	}
	unitSet := func(ids []string, path ...any) (map[*unit]bool, error) {
		if ids == nil {
			return nil, nil
		}
		set := map[*unit]bool{}
		for i, id := range ids {
			x, ok := g.units[id]
			if !ok {
				return nil, lineErr(root, "unit %q is not a unit of organisation %q", id, o.Name)(append(path, i)...)
			}
			set[x] = true
		}
		return set, nil
	}
	if err := compileUsers(g, o, root, at, unitSet); err != nil {
		return err
	}
	if err := compileKeys(w, g, o, root, at, unitSet); err != nil {
		return err
	}
	return compileCustomers(w, g, o, root, at)
}

func compileUnits(g *org, o Organisation, root *yaml.Node, at func(p ...any) []any) error {
	for ui, u := range o.Units {
		if u.ID == "" {
			return lineErr(root, "unit without an id in organisation %q", o.Name)(at("units", ui)...)
		}
		x := &unit{id: u.ID, oun: u.OUN, name: u.Name}
		if x.oun == "" {
			x.oun = fmt.Sprint(ui + 1)
		}
		if _, dup := g.units[u.ID]; dup {
			return lineErr(root, "duplicate unit %q in organisation %q", u.ID, o.Name)(at("units", ui, "id")...)
		}
		g.units[u.ID] = x
		if u.Name != "" && u.Name != u.ID {
			if _, dup := g.units[u.Name]; dup {
				return lineErr(root, "duplicate unit name %q in organisation %q", u.Name, o.Name)(at("units", ui, "name")...)
			}
			g.units[u.Name] = x
		}
	}
	return nil
}

// unitSetFunc resolves a list of unit ids of an organisation (nil: no list).
type unitSetFunc func(ids []string, path ...any) (map[*unit]bool, error)

func compileUsers(g *org, o Organisation, root *yaml.Node, at func(p ...any) []any, unitSet unitSetFunc) error {
	for ui, u := range o.Users {
		if u.Username == "" {
			return lineErr(root, "user without a username in organisation %q", o.Name)(at("users", ui)...)
		}
		if _, dup := g.users[u.Username]; dup {
			return lineErr(root, "duplicate user %q in organisation %q", u.Username, o.Name)(at("users", ui, "username")...)
		}
		x := &user{username: u.Username, password: u.Password, org: g}
		var err error
		if x.units, err = unitSet(u.Units, at("users", ui, "units")...); err != nil {
			return err
		}
		switch {
		case u.DefaultUnit != "":
			d, ok := g.units[u.DefaultUnit]
			if !ok {
				return lineErr(root, "default_unit %q of user %q is not a unit of organisation %q", u.DefaultUnit, u.Username, o.Name)(at("users", ui, "default_unit")...)
			}
			if !x.mayUse(d) {
				return lineErr(root, "default_unit %q of user %q is not among the user's units", u.DefaultUnit, u.Username)(at("users", ui, "default_unit")...)
			}
			x.defaultUnit = d
		case len(u.Units) > 0:
			x.defaultUnit = g.units[u.Units[0]]
		default:
			x.defaultUnit = g.units[o.Units[0].ID]
		}
		g.users[u.Username] = x
	}
	return nil
}

func compileKeys(w *world, g *org, o Organisation, root *yaml.Node, at func(p ...any) []any, unitSet unitSetFunc) error {
	for ki, k := range o.WebAPIKeys {
		if k.Key == "" {
			return lineErr(root, "web_api_key without a key in organisation %q", o.Name)(at("web_api_keys", ki)...)
		}
		if _, dup := w.keys[k.Key]; dup {
			return lineErr(root, "duplicate web_api_key %q", k.Key)(at("web_api_keys", ki, "key")...)
		}
		u, ok := g.users[k.User]
		if !ok {
			return lineErr(root, "web_api_key %q names user %q, who is not a user of organisation %q", k.Key, k.User, o.Name)(at("web_api_keys", ki, "user")...)
		}
		x := &apiKey{key: k.Key, user: u}
		x.login = appLogin{kind: KindKey, key: x}
		var err error
		if x.units, err = unitSet(k.Units, at("web_api_keys", ki, "units")...); err != nil {
			return err
		}
		if len(k.Units) > 0 {
			x.first = g.units[k.Units[0]]
		}
		w.keys[k.Key] = x
	}
	return nil
}

// compileMethods checks and indexes the scenario's other Web API methods.
func compileMethods(w *world, methods []MethodData, root *yaml.Node) error {
	for mi, m := range methods {
		verb := strings.ToUpper(m.Method)
		if verb != "GET" && verb != "POST" {
			return lineErr(root, "methods: method %q: want GET or POST", m.Method)("methods", mi, "method")
		}
		p := strings.Trim(m.Path, "/")
		if !methodPath().MatchString(p) {
			return lineErr(root, "methods: path %q: want <resource>[/<sub>…]/<action>, e.g. contact_information/show or customer_events/purchases/create", m.Path)("methods", mi, "path")
		}
		if strings.HasPrefix(p, "authentication/") {
			return lineErr(root, "methods: path %q: authentication methods are the mock's own", m.Path)("methods", mi, "path")
		}
		if m.Error != "" && !knownCode(m.Error) {
			return lineErr(root, "methods: unknown error code %q", m.Error)("methods", mi, "error")
		}
		k := verb + " " + p
		if _, dup := w.methods[k]; dup {
			return lineErr(root, "methods: duplicate method %s", k)("methods", mi)
		}
		data := m.Data
		if data == nil {
			data = map[string]any{}
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return lineErr(root, "methods: data of %s cannot be JSON: %v", k, err)("methods", mi, "data")
		}
		w.methods[k] = &methodAnswer{data: compactJSON(raw), err: m.Error}
	}
	return nil
}
