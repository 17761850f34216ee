package mockserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/crmmock/crmmock"
	"go.yaml.in/yaml/v3"
)

// Scenario is the fixtures file of INTERFACE §4 (YAML, or the same keys in JSON).
type Scenario struct {
	Version       string                 `yaml:"version,omitempty" json:"version,omitempty"`
	Clock         ClockSpec              `yaml:"clock,omitempty" json:"clock,omitempty"`
	JWT           JWTSpec                `yaml:"jwt,omitempty" json:"jwt,omitempty"`
	Contract      ContractSpec           `yaml:"contract,omitempty" json:"contract,omitempty"`
	Limits        LimitsSpec             `yaml:"limits,omitempty" json:"limits,omitempty"`
	Errors        map[Code]ErrorOverride `yaml:"errors,omitempty" json:"errors,omitempty"`
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
}

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

// ErrorOverride replaces the code and/or message an error answers with.
type ErrorOverride struct {
	Code    string `yaml:"code,omitempty" json:"code,omitempty"`
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
}

// Organisation holds units, users and Web API keys.
type Organisation struct {
	Name       string      `yaml:"name" json:"name"`
	Units      []Unit      `yaml:"units" json:"units"`
	Users      []User      `yaml:"users,omitempty" json:"users,omitempty"`
	WebAPIKeys []WebAPIKey `yaml:"web_api_keys,omitempty" json:"web_api_keys,omitempty"`
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

var defaultScenario = sync.OnceValues(func() (*Scenario, error) {
	return ParseScenario(crmmock.DefaultScenario)
})

// DefaultScenario returns the built-in scenarios/default.yaml (parsed once per
// process; treat it as read-only).
func DefaultScenario() *Scenario {
	sc, err := defaultScenario()
	if err != nil {
		panic("built-in scenario: " + err.Error()) // a build defect, caught by every test
	}
	return sc
}

// ParseScenario reads and checks a scenario (YAML or JSON). Errors name the line.
func ParseScenario(data []byte) (*Scenario, error) {
	sc, _, err := parseScenario(data)
	return sc, err
}

// parseScenario is ParseScenario with the compiled fixtures, ready to install.
func parseScenario(data []byte) (*Scenario, *world, error) {
	var sc Scenario
	root, err := DecodeStrict(data, &sc)
	if err != nil {
		return nil, nil, err
	}
	w, err := compile(&sc, root)
	if err != nil {
		return nil, nil, err
	}
	return &sc, w, nil
}

// DecodeStrict decodes YAML (or JSON) into v, refusing unknown keys, and returns the
// document node for finding lines. Errors read "line N: …". A document over
// MaxScenarioSize bytes, or whose aliases expand past MaxExpandedSize, or with more
// keys than MaxMappingKeys / MaxKeyPairs, is refused before anything is expanded. The
// YAML is parsed once.
func DecodeStrict(data []byte, v any) (*yaml.Node, error) {
	if len(data) > MaxScenarioSize {
		return nil, fmt.Errorf("the document is %d bytes: a scenario may be at most %d bytes", len(data), MaxScenarioSize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, cleanYAMLError(err)
	}
	if root.Kind == 0 {
		return nil, errors.New("line 1: the document is empty")
	}
	if err := checkLimits(&root); err != nil { // before anything is expanded
		return nil, err
	}
	var msgs []string
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		unknownKeys(&root, rv.Type().Elem(), &msgs)
	}
	if err := root.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, cleanYAMLError(err)
		}
		msgs = append(msgs, cleanYAMLError(err).Error())
	}
	if len(msgs) > 0 {
		sortByLine(msgs)
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return &root, nil
}

var yamlNotFound = regexp.MustCompile(`field (\S+) not found in type \S+`)

func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = yamlNotFound.ReplaceAllString(m, `unknown key "$1"`)
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// LineOf finds the line of the node at path (map keys and slice indexes) under root,
// the node DecodeStrict returned; where the path ends early, the line of the last node found.
func LineOf(root *yaml.Node, path ...any) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		if n == nil {
			return 0
		}
		switch k := p.(type) {
		case string:
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
					}
				}
			}
			if next == nil {
				return n.Line
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return n.Line
			}
			n = n.Content[k]
		}
	}
	if n == nil {
		return 0
	}
	return n.Line
}

// world is a scenario compiled into indexes: what the handlers read.
type world struct {
	orgs         map[string]*org
	keys         map[string]*apiKey
	methods      map[string]*methodAnswer // "GET contact_information/show"
	errors       map[Code]ErrorOverride
	numericDates bool
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
}

type methodAnswer struct {
	data json.RawMessage
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
		return fmt.Errorf("line %d: %s", LineOf(root, path...), msg)
	}
}

var methodPath = regexp.MustCompile(`^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)+$`) // F19: two or more segments

// compile checks a scenario (duplicates, dangling references) and indexes it.
func compile(sc *Scenario, root *yaml.Node) (*world, error) {
	w := &world{
		orgs:         map[string]*org{},
		keys:         map[string]*apiKey{},
		methods:      map[string]*methodAnswer{},
		errors:       map[Code]ErrorOverride{},
		numericDates: sc.JWT.NumericDates,
		lenientCT:    sc.Contract.LenientContentType,
		orgSpelling:  sc.Contract.OrganizationSpelling,
	}
	if sc.Limits.MaxTokens < 0 {
		return nil, lineErr(root, "limits: max_tokens: %d is negative (0 or absent: the mock's --max-tokens)", sc.Limits.MaxTokens)("limits", "max_tokens")
	}
	w.maxTokens = sc.Limits.MaxTokens
	if sc.Version != "" {
		r, err := ParseRelease(sc.Version)
		if err != nil {
			return nil, lineErr(root, "version: %v", err)("version")
		}
		w.version = r.Name
	}
	if sc.Clock.Start != "" {
		t, err := time.Parse(time.RFC3339, sc.Clock.Start)
		if err != nil {
			return nil, lineErr(root, "clock.start %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", sc.Clock.Start)("clock", "start")
		}
		w.start = t.UTC()
	}
	for code, o := range sc.Errors {
		if !knownCode(code) {
			return nil, lineErr(root, "errors: unknown error code %q (want one of %v)", code, Codes())("errors", string(code))
		}
		w.errors[code] = o
	}
	if len(sc.Organisations) == 0 {
		return nil, lineErr(root, "organisations: at least one organisation is needed")("organisations")
	}
	type keyOwner struct{ org, user string }
	for oi, o := range sc.Organisations {
		at := func(p ...any) []any { return append([]any{"organisations", oi}, p...) }
		if o.Name == "" {
			return nil, lineErr(root, "organisation without a name")(at()...)
		}
		if _, dup := w.orgs[o.Name]; dup {
			return nil, lineErr(root, "duplicate organisation %q", o.Name)(at("name")...)
		}
		g := &org{name: o.Name, units: map[string]*unit{}, users: map[string]*user{}}
		w.orgs[o.Name] = g
		if len(o.Units) == 0 {
			return nil, lineErr(root, "organisation %q has no units", o.Name)(at()...)
		}
		for ui, u := range o.Units {
			if u.ID == "" {
				return nil, lineErr(root, "unit without an id in organisation %q", o.Name)(at("units", ui)...)
			}
			x := &unit{id: u.ID, oun: u.OUN, name: u.Name}
			if x.oun == "" {
				x.oun = fmt.Sprint(ui + 1)
			}
			if _, dup := g.units[u.ID]; dup {
				return nil, lineErr(root, "duplicate unit %q in organisation %q", u.ID, o.Name)(at("units", ui, "id")...)
			}
			g.units[u.ID] = x
			if u.Name != "" && u.Name != u.ID {
				if _, dup := g.units[u.Name]; dup {
					return nil, lineErr(root, "duplicate unit name %q in organisation %q", u.Name, o.Name)(at("units", ui, "name")...)
				}
				g.units[u.Name] = x
			}
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
		for ui, u := range o.Users {
			if u.Username == "" {
				return nil, lineErr(root, "user without a username in organisation %q", o.Name)(at("users", ui)...)
			}
			if _, dup := g.users[u.Username]; dup {
				return nil, lineErr(root, "duplicate user %q in organisation %q", u.Username, o.Name)(at("users", ui, "username")...)
			}
			x := &user{username: u.Username, password: u.Password, org: g}
			var err error
			if x.units, err = unitSet(u.Units, at("users", ui, "units")...); err != nil {
				return nil, err
			}
			switch {
			case u.DefaultUnit != "":
				d, ok := g.units[u.DefaultUnit]
				if !ok {
					return nil, lineErr(root, "default_unit %q of user %q is not a unit of organisation %q", u.DefaultUnit, u.Username, o.Name)(at("users", ui, "default_unit")...)
				}
				if !x.mayUse(d) {
					return nil, lineErr(root, "default_unit %q of user %q is not among the user's units", u.DefaultUnit, u.Username)(at("users", ui, "default_unit")...)
				}
				x.defaultUnit = d
			case len(u.Units) > 0:
				x.defaultUnit = g.units[u.Units[0]]
			default:
				x.defaultUnit = g.units[o.Units[0].ID]
			}
			g.users[u.Username] = x
		}
		for ki, k := range o.WebAPIKeys {
			if k.Key == "" {
				return nil, lineErr(root, "web_api_key without a key in organisation %q", o.Name)(at("web_api_keys", ki)...)
			}
			if _, dup := w.keys[k.Key]; dup {
				return nil, lineErr(root, "duplicate web_api_key %q", k.Key)(at("web_api_keys", ki, "key")...)
			}
			u, ok := g.users[k.User]
			if !ok {
				return nil, lineErr(root, "web_api_key %q names user %q, who is not a user of organisation %q", k.Key, k.User, o.Name)(at("web_api_keys", ki, "user")...)
			}
			x := &apiKey{key: k.Key, user: u}
			var err error
			if x.units, err = unitSet(k.Units, at("web_api_keys", ki, "units")...); err != nil {
				return nil, err
			}
			if len(k.Units) > 0 {
				x.first = g.units[k.Units[0]]
			}
			w.keys[k.Key] = x
		}
	}
	for mi, m := range sc.Methods {
		verb := strings.ToUpper(m.Method)
		if verb != "GET" && verb != "POST" {
			return nil, lineErr(root, "methods: method %q: want GET or POST", m.Method)("methods", mi, "method")
		}
		p := strings.Trim(m.Path, "/")
		if !methodPath.MatchString(p) {
			return nil, lineErr(root, "methods: path %q: want <resource>[/<sub>…]/<action>, e.g. contact_information/show or customer_events/purchases/create", m.Path)("methods", mi, "path")
		}
		if strings.HasPrefix(p, "authentication/") {
			return nil, lineErr(root, "methods: path %q: authentication methods are the mock's own", m.Path)("methods", mi, "path")
		}
		if m.Error != "" && !knownCode(m.Error) {
			return nil, lineErr(root, "methods: unknown error code %q", m.Error)("methods", mi, "error")
		}
		k := verb + " " + p
		if _, dup := w.methods[k]; dup {
			return nil, lineErr(root, "methods: duplicate method %s", k)("methods", mi)
		}
		data := m.Data
		if data == nil {
			data = map[string]any{}
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, lineErr(root, "methods: data of %s cannot be JSON: %v", k, err)("methods", mi, "data")
		}
		w.methods[k] = &methodAnswer{data: raw, err: m.Error}
	}
	return w, nil
}
