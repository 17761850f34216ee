package mockserver

import (
	"bytes"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// quickCheck answers "valid" for a request to a route whose contract asks nothing but
// plain string parameters, without kin-openapi's per-request work (a parameter's
// decoding and schema visit cost most of a GET's time in the mock): the route has no
// request body and no security, and each of its parameters is a path or query string
// with at most minLength, maxLength and pattern, checked here as the validator checks
// them. It is derived from the contract when it loads (quickCheckFor), so the contract
// stays the one place the rules are written; a route whose parameters use anything else
// gets none. It only ever says valid: a request it does not pass (a value failing, a
// parameter missing, repeated or empty) goes to the validator, which also words the
// reason. TestQuickCheckAgreesWithValidator holds it to the validator.
type quickCheck struct {
	params []quickParam
}

type quickParam struct {
	name      string
	path      bool // in the path, else the query
	required  bool
	minLength uint64
	maxLength *uint64
	pattern   *regexp.Regexp
	matched   *matchMemo // values pattern accepted, remembered
}

// matchMemo remembers values a parameter's pattern accepted: the same resource and
// action names come back request after request, and a map hit costs a tenth of a
// regexp run. Only accepted values are kept (the pattern still judges every other), at
// most matchMemoMax of them, each at most matchMemoLen bytes, for the process's life.
type matchMemo struct {
	seen sync.Map // string → struct{}
	n    atomic.Int32
}

const (
	matchMemoMax = 1024
	matchMemoLen = 64
)

// match reports whether re accepts v, remembering v when it does.
func (m *matchMemo) match(re *regexp.Regexp, v string) bool {
	if _, ok := m.seen.Load(v); ok {
		return true
	}
	if !re.MatchString(v) {
		return false
	}
	if len(v) <= matchMemoLen && m.n.Load() < matchMemoMax {
		if m.n.Add(1) > matchMemoMax { // another goroutine took the last place
			m.n.Add(-1)
		} else if _, loaded := m.seen.LoadOrStore(strings.Clone(v), struct{}{}); loaded {
			m.n.Add(-1)
		}
	}
	return true
}

// valid reports whether the validator would accept these parameter values.
func (q *quickCheck) valid(params pathParams, query url.Values) bool {
	for i := range q.params {
		p := &q.params[i]
		var v string
		if p.path {
			var ok bool
			if v, ok = params.get(p.name); !ok {
				return false
			}
		} else {
			vs := query[p.name]
			switch {
			case len(vs) == 0 && !p.required:
				continue
			case len(vs) != 1:
				return false
			}
			v = vs[0]
		}
		if v == "" || !p.accepts(v) {
			return false
		}
	}
	return true
}

// accepts is the validator's string check: lengths in UTF-16 code units, then pattern.
func (p *quickParam) accepts(v string) bool {
	if p.minLength != 0 || p.maxLength != nil {
		n := uint64(0)
		for _, r := range v {
			if utf16.IsSurrogate(r) {
				n += 2
			} else {
				n++
			}
		}
		if n < p.minLength || p.maxLength != nil && n > *p.maxLength {
			return false
		}
	}
	return p.pattern == nil || p.matched.match(p.pattern, v)
}

// quickCheckFor builds the route's quick check, or nil when its contract asks for
// anything the quick check does not model.
func quickCheckFor(doc *openapi3.T, route *routers.Route) *quickCheck {
	if route == nil || route.Operation == nil {
		return nil
	}
	op := route.Operation
	if op.RequestBody != nil || secured(doc, op) {
		return nil
	}
	byKey := map[string]*openapi3.Parameter{} // the operation's parameters override the path's
	var order []string
	for _, list := range []openapi3.Parameters{route.PathItem.Parameters, op.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				return nil
			}
			k := ref.Value.In + " " + ref.Value.Name
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = ref.Value
		}
	}
	q := &quickCheck{}
	for _, k := range order {
		p := byKey[k]
		qp, ok := quickParamFor(p)
		if !ok {
			return nil
		}
		q.params = append(q.params, qp)
	}
	return q
}

// secured reports whether an operation asks for security: its own requirements, or,
// when it states none, the document's. The quick checks model none.
func secured(doc *openapi3.T, op *openapi3.Operation) bool {
	if op.Security != nil {
		return len(*op.Security) > 0
	}
	return len(doc.Security) > 0
}

func quickParamFor(p *openapi3.Parameter) (quickParam, bool) {
	if p.In != openapi3.ParameterInPath && p.In != openapi3.ParameterInQuery || p.Style != "" || p.Explode != nil ||
		p.AllowEmptyValue || p.AllowReserved || p.Content != nil || p.Schema == nil || p.Schema.Value == nil {
		return quickParam{}, false
	}
	s := p.Schema.Value
	if s.Type == nil || !s.Type.Is(openapi3.TypeString) {
		return quickParam{}, false
	}
	rest := *s // everything but the modelled keys (and the ones that check nothing) must be unset
	rest.Type, rest.MinLength, rest.MaxLength, rest.Pattern = nil, 0, nil, ""
	rest.Title, rest.Description, rest.Example, rest.Extensions, rest.Origin, rest.Deprecated = "", "", nil, nil, nil, false
	if !reflect.DeepEqual(rest, openapi3.Schema{}) {
		return quickParam{}, false
	}
	qp := quickParam{name: p.Name, path: p.In == openapi3.ParameterInPath, required: p.Required,
		minLength: s.MinLength, maxLength: s.MaxLength}
	if s.Pattern != "" {
		if strings.Contains(s.Pattern, `\u`) { // the validator rewrites \uXXXX code points first
			return quickParam{}, false
		}
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return quickParam{}, false
		}
		qp.pattern, qp.matched = re, new(matchMemo)
	}
	return qp, true
}

// bodyCheck answers "valid" for a JSON body to an operation whose contract asks
// nothing but the body (no parameters, no security), without the validator's request
// plumbing (re-reading the body, option and error values): it runs the validator's own
// decoder and schema visit, with the options ValidateRequestBody would pass, on the
// body admit has read. Like quickCheck it only ever says valid: a body it does not pass
// (or a Content-Type other than exactly application/json) goes to the validator, which
// words the reason. TestBodyCheckAgreesWithValidator and FuzzBodyCheck hold it to the
// validator.
type bodyCheck struct {
	schema *openapi3.Schema
}

// valid reports whether the validator would accept this body with this Content-Type,
// and returns the body as the validator decodes it.
func (b *bodyCheck) valid(contentType string, body []byte) (any, bool) {
	if contentType != jsonContentType || len(body) == 0 {
		return nil, false
	}
	v, err := openapi3filter.JSONBodyDecoder(bytes.NewReader(body), nil, nil, nil)
	if err != nil || b.schema.VisitJSON(v, openapi3.VisitAsRequest()) != nil {
		return nil, false
	}
	return v, true
}

const jsonContentType = "application/json"

// bodyCheckFor builds the route's body check, or nil when its contract asks for anything
// else than a JSON body (parameters, security, other media types, a binary schema).
func bodyCheckFor(doc *openapi3.T, route *routers.Route) *bodyCheck {
	if route == nil || route.Operation == nil {
		return nil
	}
	op := route.Operation
	if secured(doc, op) || len(op.Parameters) > 0 || len(route.PathItem.Parameters) > 0 {
		return nil
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil || len(op.RequestBody.Value.Content) != 1 {
		return nil
	}
	mt := op.RequestBody.Value.Content[jsonContentType]
	if mt == nil || len(mt.Encoding) > 0 || mt.Schema == nil || mt.Schema.Value == nil ||
		mt.Schema.Value.Format == "binary" {
		return nil
	}
	return &bodyCheck{schema: mt.Schema.Value}
}
