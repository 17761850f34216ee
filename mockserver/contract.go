package mockserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	contractdoc "github.com/crmmock/crmmock/internal/contract"
	"github.com/crmmock/crmmock/internal/ops"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// docBasePath is the server URL in openapi.yaml (F1); an instance's --base-path is
// mapped onto it before routing, so the loaded document is never changed.
const docBasePath = "/crmapi/rest/v2"

// apiContract is openapi.yaml (shipped compiled to Go literals, see internal/contract),
// validated and routed once per process. Its contents are the mock's own.
type apiContract struct {
	doc *openapi3.T
	// router is the document's gorilla/mux router, built on first call (its regular
	// expressions cost about a millisecond, which the first login need not wait for).
	router func() (routers.Router, error)

	// The routes of the common requests, found once through router; route answers
	// them without the router (see fastRoute). Nil when the contract lacks one.
	fixed               map[string]*routers.Route     // POST path below the base path
	otherGet, otherPost *routers.Route                // /{resource}/{action…}: any other method
	otherGetQuick       *quickCheck                   // otherGet's parameters, checked without the validator (nil: none)
	bodyChecks          map[*routers.Route]*bodyCheck // fixed routes' JSON bodies, checked without the validator's plumbing

	// releases is, by operationId, when each operation and each gated body parameter
	// exists: the contract's x-available-from / x-deprecated-from, read once at load.
	releases map[string]*opReleases
}

// fixedPaths are the contract's paths without parameters: the only ones that can shadow
// another method's /{resource}/{action…}.
var fixedPaths = func() []string {
	var paths []string
	for _, name := range ops.FixedNames() {
		paths = append(paths, "/"+name)
	}
	return paths
}()

// otherPath is the contract's template of any other Web API method (F19: two or more
// segments; {action} is the rest after the resource, as gorilla/mux's pattern says).
const otherPath = "/{resource}/{action:[^/]+(?:/[^/]+)*}"

var (
	contractOnce sync.Once
	contract     *apiContract
	contractErr  error
)

var preload sync.Once

// PreloadContract starts building the contract in the background, once per process,
// and returns at once. New calls it: the build (the document from its Go literals, its
// references resolved, its common routes; about a quarter of a millisecond warm, the
// router after it) then runs while the caller starts listening, and Mock.ServeHTTP waits
// for it before answering anything, so no request is ever answered without the contract.
func PreloadContract() {
	preload.Do(func() { go func() { _, _ = loadProcessContract() }() })
}

// contract is the mock's contract: the process's (waiting for the build when it is
// under way), or the one a test gave (Options.contract). It is only called after
// ServeHTTP's check, so the error is nil.
func (m *Mock) contract() *apiContract {
	if m.ctr != nil {
		return m.ctr
	}
	c, _ := loadProcessContract()
	return c
}

// loadProcessContract returns the process's contract, building it on the first call;
// concurrent callers wait for that build.
func loadProcessContract() (*apiContract, error) {
	contractOnce.Do(func() {
		// openapi.yaml compiled to Go: no YAML or JSON decode at start, and no validation
		// of a document GoSource validated when it was generated
		doc, err := contractdoc.Doc()
		if err != nil {
			contract, contractErr = nil, fmt.Errorf("openapi.yaml: %w", err)
			return
		}
		if contract, contractErr = newContract(doc); contractErr == nil {
			go func() { _, _ = contract.router() }() // ready before a request needs it
		}
	})
	return contract, contractErr
}

// loadContract parses and validates an OpenAPI document (YAML or JSON) and makes it a
// contract. The mock uses the process's one (loadProcessContract); tests load edited
// copies to show that the contract alone decides availability.
func loadContract(data []byte) (*apiContract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml does not validate: %w", err)
	}
	c, err := newContract(doc)
	if err != nil {
		return nil, err
	}
	if _, err := c.router(); err != nil { // a test's edited contract fails here, not at its first request
		return nil, fmt.Errorf("openapi.yaml routes: %w", err)
	}
	return c, nil
}

// newContract reads a loaded, valid OpenAPI document's release data and the routes of
// the common requests (see fastRoute); its router is built on first need.
func newContract(doc *openapi3.T) (*apiContract, error) {
	c := &apiContract{doc: doc, fixed: map[string]*routers.Route{}}
	c.router = sync.OnceValues(func() (routers.Router, error) { return gorillamux.NewRouter(doc) })
	var err error
	if c.releases, err = readReleases(doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	find := func(method, path, template string) *routers.Route { return routeIn(doc, method, template) }
	if !singlePlainServer(doc) { // which server a request matches is the router's to say
		router, err := c.router()
		if err != nil {
			return nil, fmt.Errorf("openapi.yaml routes: %w", err)
		}
		find = func(method, path, template string) *routers.Route {
			req, err := http.NewRequest(method, docBasePath+path, nil)
			if err != nil {
				return nil
			}
			route, _, err := router.FindRoute(req)
			if err != nil || route.Path != template {
				return nil
			}
			return route
		}
	}
	c.bodyChecks = map[*routers.Route]*bodyCheck{}
	for _, p := range fixedPaths {
		if r := find(http.MethodPost, p, p); r != nil {
			c.fixed[p] = r
			if b := bodyCheckFor(doc, r); b != nil {
				c.bodyChecks[r] = b
			}
		}
	}
	c.otherGet = find(http.MethodGet, "/resource/action", otherPath)
	c.otherPost = find(http.MethodPost, "/resource/action", otherPath)
	c.otherGetQuick = quickCheckFor(doc, c.otherGet)
	return c, nil
}

// singlePlainServer reports a document with one server, docBasePath without variables,
// and no path that lists servers of its own: a request under it is routed to the path
// the document names, the router's first choice (fixed paths sort before templates), so
// routeIn may build its routes.
func singlePlainServer(doc *openapi3.T) bool {
	if len(doc.Servers) != 1 || doc.Servers[0] == nil || doc.Servers[0].URL != docBasePath {
		return false
	}
	for _, item := range doc.Paths.Map() {
		if len(item.Servers) > 0 {
			return false
		}
	}
	return true
}

// routeIn is the route the router finds for method on the document's path (fixed or a
// template), built from the document; nil when the path or the method is not in it.
// TestRoutesInAreTheRouters holds it to the router.
func routeIn(doc *openapi3.T, method, path string) *routers.Route {
	item := doc.Paths.Value(path)
	if item == nil {
		return nil
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil
	}
	return &routers.Route{Spec: doc, Server: doc.Servers[0], Path: path, PathItem: item, Method: method, Operation: op}
}

// pathParams are a routed request's path parameters: the router's map, or, for a
// request fastRoute routed, none (a fixed path) or another method's resource and action
// held as fields, the map the validator takes built only if it runs (asMap).
type pathParams struct {
	m                map[string]string
	other            bool // resource and action hold them
	resource, action string
}

// get is the parameter named name.
func (p pathParams) get(name string) (string, bool) {
	if !p.other {
		v, ok := p.m[name]
		return v, ok
	}
	switch name {
	case "resource":
		return p.resource, true
	case "action":
		return p.action, true
	}
	return "", false
}

// asMap is the parameters as the router hands them to the validator.
func (p pathParams) asMap() map[string]string {
	switch {
	case p.other:
		return map[string]string{"resource": p.resource, "action": p.action}
	case p.m == nil:
		return map[string]string{}
	}
	return p.m
}

// fastRoute answers what Router.FindRoute answers for the common requests, without
// its per-request regular expressions: POST on a fixed path, and GET or POST on
// /<resource>[/<sub>…]/<action> (two or more non-empty segments of unreserved URL bytes,
// as gorilla/mux's pattern [^/]+ matches them; no dot segment) when no fixed path
// shadows it. Anything else (other methods, other shapes, 405s) goes to the router.
// TestFastRouteMatchesRouter and FuzzOtherMethod hold it to the router's answers.
func (c *apiContract) fastRoute(method, rest string) (*routers.Route, pathParams, bool) {
	if method != http.MethodGet && method != http.MethodPost {
		return nil, pathParams{}, false
	}
	for _, p := range fixedPaths {
		if rest == p {
			r, ok := c.fixed[p]
			if !ok || method != http.MethodPost {
				return nil, pathParams{}, false
			}
			return r, pathParams{}, true
		}
	}
	if len(rest) < 4 || rest[0] != '/' {
		return nil, pathParams{}, false
	}
	for i := 1; i < len(rest); i++ { // the router hands out escaped values: keep to bytes escaping leaves alone
		if b := rest[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-' || b == '.' || b == '~' || b == '/') {
			return nil, pathParams{}, false
		}
	}
	resource, action, ok := strings.Cut(rest[1:], "/")
	if !ok || resource == "" || badSegment(rest) || deepAuthentication(rest) {
		return nil, pathParams{}, false
	}
	r := c.otherGet
	if method == http.MethodPost {
		r = c.otherPost
	}
	if r == nil {
		return nil, pathParams{}, false
	}
	return r, pathParams{other: true, resource: resource, action: action}, true
}

// badSegment reports a path (below the base path, "/" first) with an empty, "." or ".."
// segment: no Web API method has one, and a client that sends one has built its URL
// wrongly (or is walking paths).
func badSegment(rest string) bool {
	start := 1
	for i := 1; i <= len(rest); i++ {
		if i < len(rest) && rest[i] != '/' {
			continue
		}
		if seg := rest[start:i]; seg == "" || seg == "." || seg == ".." {
			return true
		}
		start = i + 1
	}
	return false
}

// encodedSlash reports %2F (either case) in an escaped path.
func encodedSlash(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '%' && raw[i+1] == '2' && (raw[i+2] == 'F' || raw[i+2] == 'f') {
			return true
		}
	}
	return false
}

// deepAuthentication reports a path of three or more segments under authentication/
// that is none of the fixed ones (the authentication methods the contract has): never
// another method that wants a token.
func deepAuthentication(rest string) bool {
	tail, ok := strings.CutPrefix(rest, "/authentication/")
	return ok && strings.IndexByte(tail, '/') >= 0 && !slices.Contains(fixedPaths, rest)
}

var validateOptions = func() *openapi3filter.Options {
	o := &openapi3filter.Options{
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc, // the key is the handler's to judge
		SkipSettingDefaults: true,
	}
	o.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		field := strings.Join(err.JSONPointer(), ".")
		if field == "" {
			return err.Reason
		}
		return fmt.Sprintf("field %q: %s", field, err.Reason)
	})
	return o
}()

// route finds the contract operation of a Web API request whose path (below the
// instance's base path) is rest. An unknown path or method is a violation.
func (c *apiContract) route(r *http.Request, rest string) (*http.Request, *routers.Route, pathParams, *apiError) {
	routed := r // r itself unless its URL is rewritten; whoever changes a field of it changes a copy
	p := r.URL.Path
	if r.URL.RawPath != "" || len(p) != len(docBasePath)+len(rest) || !strings.HasPrefix(p, docBasePath) || !strings.HasSuffix(p, rest) {
		u := *r.URL // served under another base path: route it as the document's
		u.Path = docBasePath + rest
		u.RawPath = ""
		routed = new(http.Request) // a shallow copy (as r.WithContext makes)
		*routed = *r
		routed.URL = &u
	}
	encoded := r.URL.RawPath != "" && encodedSlash(r.URL.RawPath) // rest is decoded: %2F reads as a segment break
	if route, params, ok := c.fastRoute(r.Method, rest); ok && !encoded {
		return routed, route, params, nil
	}
	if encoded || badSegment(rest) || deepAuthentication(rest) {
		return nil, nil, pathParams{}, &apiError{Code: CodeInvalidRequest, Violation: true, HTTP: http.StatusNotFound,
			Description: fmt.Sprintf("path %s: no such Web API method in the contract (want <resource>[/<sub>…]/<action>: no empty, . or .. segment, no encoded slash; under authentication/ only the contract's methods)", rest)}
	}
	router, err := c.router()
	if err != nil {
		return nil, nil, pathParams{}, &apiError{Code: CodeInternal, Description: fmt.Sprintf("openapi.yaml routes: %v", err)}
	}
	route, m, err := router.FindRoute(routed)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		allow := c.allowed(rest)
		return nil, nil, pathParams{}, &apiError{Code: CodeInvalidRequest, Class: ClassWrongMethod, Violation: true, HTTP: http.StatusMethodNotAllowed, Allow: allow,
			Description: fmt.Sprintf("method %s is not allowed on %s (the contract has no such operation): use %s", r.Method, rest, strings.ReplaceAll(allow, ", ", " or "))}
	case err != nil:
		return nil, nil, pathParams{}, &apiError{Code: CodeInvalidRequest, Violation: true, HTTP: http.StatusNotFound,
			Description: fmt.Sprintf("path %s: no such Web API method in the contract (want <resource>[/<sub>…]/<action>)", rest)}
	}
	return routed, route, pathParams{m: m}, nil
}

// allowed is the Allow header of a 405 on rest: the methods of its path in the
// contract (a fixed path's, else another method's), sorted.
func (c *apiContract) allowed(rest string) string {
	item := c.doc.Paths.Value(rest)
	if item == nil && c.otherGet != nil {
		item = c.otherGet.PathItem
	}
	if item == nil {
		return ""
	}
	methods := slices.Sorted(maps.Keys(item.Operations()))
	return strings.Join(methods, ", ")
}

// validate checks a routed request (its body already read) against the contract. When
// a body check passed the body, it also returns the body as the validator decoded it
// (a JSON value of maps, slices, strings, json.Number, bools and nils), so a handler
// need not decode it again.
func (c *apiContract) validate(ctx context.Context, routed *http.Request, route *routers.Route, params pathParams, query url.Values, body []byte) (any, *apiError) {
	if route == c.otherGet && c.otherGetQuick != nil && c.otherGetQuick.valid(params, query) {
		return nil, nil // what the validator would answer (see quickCheck)
	}
	if b := c.bodyChecks[route]; b != nil {
		if parsed, ok := b.valid(routed.Header.Get("Content-Type"), body); ok {
			return parsed, nil // what the validator would answer (see bodyCheck), and the body as it read it
		}
	}
	in := *routed // routed may be the server's request: its body is not replaced
	in.Body = io.NopCloser(bytes.NewReader(body))
	err := openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{
		Request:     &in,
		PathParams:  params.asMap(),
		QueryParams: query,
		Route:       route,
		Options:     validateOptions,
	})
	if err == nil {
		return nil, nil
	}
	e := &apiError{Code: CodeInvalidRequest, Violation: true, Description: describeViolation(err)}
	switch {
	case strings.Contains(e.Description, "Content-Type"):
		e.Mapped = http.StatusUnsupportedMediaType
		e.Class = ClassWrongContentType
	case strings.Contains(e.Description, "failed to decode"):
		e.Class = ClassMalformedJSON
	case strings.Contains(e.Description, "missing"):
		e.Class = ClassMissingField
	}
	return nil, e
}

// describeViolation turns a validator error into one line naming the field.
func describeViolation(err error) string {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		switch {
		case re.Parameter != nil:
			reason := re.Reason
			if re.Err != nil {
				reason = re.Err.Error()
			}
			return fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
		case re.RequestBody != nil:
			msg := re.Reason
			if re.Err != nil {
				var se *openapi3.SchemaError
				if errors.As(re.Err, &se) {
					msg = schemaMessage(se)
				} else if msg == "" || strings.Contains(re.Err.Error(), "Content-Type") || strings.Contains(msg, "failed to decode") {
					msg = strings.TrimSpace(msg + ": " + re.Err.Error())
				}
			}
			return "request body: " + strings.TrimPrefix(strings.TrimSpace(msg), ": ")
		}
		return re.Error()
	}
	var se *openapi3filter.SecurityRequirementsError
	if errors.As(err, &se) {
		return "security: " + se.Error()
	}
	return err.Error()
}

func schemaMessage(se *openapi3.SchemaError) string {
	field := strings.Join(se.JSONPointer(), ".")
	if field == "" {
		return se.Reason
	}
	return fmt.Sprintf("field %q: %s", field, se.Reason)
}
