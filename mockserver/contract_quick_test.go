package mockserver

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ensure the quick check of another method's GET parameters (the token in the query,
// F5; the method's segments, F19) never passes a request the validator refuses, over
// thousands of generated values: empty, repeated, missing, long, non-UTF-8, unicode,
// and the shapes real tokens have; and that it does pass the common request (else the
// fast path would silently never run).
func TestQuickCheckAgreesWithValidator(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	require.NotNil(t, c.otherGetQuick, "the shipped contract's GET of another method has no quick check")
	slow := *c
	slow.otherGetQuick = nil

	values := []string{"", "x", "4AD9C84FA60F9FE407140E20F707726A", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.sig",
		"\xff\xfe", "é", "😀", strings.Repeat("a", 600), " ", "a b", "null"}
	segments := []string{"contact_information", "show", "purchases/create", "A", "_x", "9a", "a-b", "x.y", "~"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	passed := 0
	for range 5000 {
		params := map[string]string{"resource": pick(segments), "action": pick(segments)}
		query := url.Values{}
		switch rng.IntN(4) {
		case 0: // none
		case 1, 2:
			query.Set("token", pick(values))
		case 3:
			query["token"] = []string{pick(values), pick(values)}
		}
		if rng.IntN(3) == 0 {
			query.Set("id", pick(values))
		}
		if !c.otherGetQuick.valid(pathParams{m: params}, query) {
			continue
		}
		passed++
		req, err := http.NewRequest(http.MethodGet, docBasePath+"/"+url.PathEscape(params["resource"])+"/"+params["action"]+"?"+query.Encode(), nil)
		require.NoError(t, err)
		if _, aerr := slow.validate(context.Background(), req, c.otherGet, pathParams{m: params}, query, nil); aerr != nil {
			t.Fatalf("quick check passed what the validator refuses: %v %v: %s", params, query, aerr.Description)
		}
	}
	require.Greater(t, passed, 100, "the quick check passed almost nothing")
	require.True(t, c.otherGetQuick.valid(pathParams{other: true, resource: "contact_information", action: "show"},
		url.Values{"token": {"4AD9C84FA60F9FE407140E20F707726A"}}))
}

// Ensure a contract whose GET parameters ask for more than the quick check models (here
// an enum on the token) gets no quick check: the validator alone judges it.
func TestQuickCheckOnlyForPlainStrings(t *testing.T) {
	c := editedContract(t, func(doc map[string]any) {
		get := at(doc, "paths", "/{resource}/{action:[^/]+(?:/[^/]+)*}", "get")
		p := get["parameters"].([]any)[0].(map[string]any)
		p["schema"].(map[string]any)["enum"] = []any{"A"}
	})
	require.Nil(t, c.otherGetQuick)
}

// Ensure the quick checks leave an operation that asks for security to the validator,
// whether the document asks for it or the operation does, and take one whose own empty
// requirements lift the document's.
func TestQuickChecksLeaveSecurityToTheValidator(t *testing.T) {
	const other, login = "/{resource}/{action:[^/]+(?:/[^/]+)*}", "/authentication/token"
	secured := func(doc map[string]any) { doc["security"] = []any{map[string]any{"webApiKey": []any{}}} }
	c := editedContract(t, secured)
	require.Nil(t, c.otherGetQuick, "the document's security")
	require.Nil(t, c.bodyChecks[c.fixed[login]], "the document's security")

	c = editedContract(t, func(doc map[string]any) {
		secured(doc)
		at(doc, "paths", other, "get")["security"] = []any{}
		at(doc, "paths", login, "post")["security"] = []any{}
	})
	require.NotNil(t, c.otherGetQuick, "no security of its own")
	require.NotNil(t, c.bodyChecks[c.fixed[login]], "no security of its own")
}

// bodyCheckAgrees fails t when route's body check passes a body the validator refuses;
// it reports whether the check passed it.
func bodyCheckAgrees(t testing.TB, c *apiContract, path, contentType string, body []byte) bool {
	t.Helper()
	route := c.fixed[path]
	b := c.bodyChecks[route]
	if b == nil {
		return false
	}
	if _, ok := b.valid(contentType, body); !ok {
		return false
	}
	slow := *c
	slow.bodyChecks = nil
	req, err := http.NewRequest(http.MethodPost, docBasePath+path, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if _, aerr := slow.validate(context.Background(), req, route, pathParams{}, nil, body); aerr != nil {
		t.Fatalf("body check passed what the validator refuses: POST %s %s: %s", path, body, aerr.Description)
	}
	return true
}

// Ensure the body check of the logins and the release (F2, F7, F8, F12) never passes a
// body the validator refuses, over thousands of generated bodies (fields missing, null,
// of the wrong type, empty, unknown, nested, trailing bytes, not an object, other media
// types), and that it passes the common bodies (else the fast path would silently
// never run).
func TestBodyCheckAgreesWithValidator(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	for _, p := range []string{"/authentication/token", "/authentication/token/release"} {
		require.NotNil(t, c.bodyChecks[c.fixed[p]], "the shipped contract's %s has no body check", p)
	}
	require.Nil(t, c.bodyChecks[c.fixed["/authentication/web_api_key/token"]], "a route with security is the validator's alone")

	fields := []string{"username", "password", "organisation", "unit", "organization", "token", "access_token_identifier", "Username", "x"}
	values := []string{`""`, `"mpadministrator"`, `"1234"`, `"CRMDEMO"`, `null`, `7`, `true`, `[]`, `{}`, `"é😀"`, `"\ud800"`,
		`{"authentication_code":"A1"}`, `{"identifier":"i","pass_code":"p"}`, `{"identifier":""}`, `{"one_time_password":"123456"}`,
		`{"authentication_code":7}`}
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	passed := 0
	for range 5000 {
		var b strings.Builder
		b.WriteString("{")
		for i := range rng.IntN(5) {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + pick(fields) + `":` + pick(values))
		}
		b.WriteString("}")
		body := b.String()
		switch rng.IntN(12) {
		case 0:
			body += " trailing"
		case 1:
			body = body[:len(body)-1]
		case 2:
			body = pick(values)
		}
		ct := jsonContentType
		if rng.IntN(10) == 0 {
			ct = pick([]string{"application/json; charset=utf-8", "text/plain", "", "APPLICATION/JSON"})
		}
		for _, p := range []string{"/authentication/token", "/authentication/token/release"} {
			if bodyCheckAgrees(t, c, p, ct, []byte(body)) {
				passed++
			}
		}
	}
	require.Greater(t, passed, 100, "the body check passed almost nothing")
	require.True(t, bodyCheckAgrees(t, c, "/authentication/token", jsonContentType,
		[]byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)))
	require.True(t, bodyCheckAgrees(t, c, "/authentication/token/release", jsonContentType,
		[]byte(`{"token":"4AD9C84FA60F9FE407140E20F707726A"}`)))
	require.False(t, bodyCheckAgrees(t, c, "/authentication/token", jsonContentType, []byte(`{"username":"u","password":"p"}`)),
		"organisation is required (F2)")
}

// FuzzBodyCheck: any body and Content-Type to the fixed paths; the body check may pass
// only what the validator passes.
func FuzzBodyCheck(f *testing.F) {
	f.Add(uint8(0), jsonContentType, []byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	f.Add(uint8(0), jsonContentType, []byte(`{"organisation":"CRMDEMO","access_token_identifier":{"authentication_code":"A"}} x`))
	f.Add(uint8(1), jsonContentType, []byte(`{"token":"4AD9C84FA60F9FE407140E20F707726A"}`))
	f.Add(uint8(1), "application/json;charset=utf-8", []byte(`{"token":null}`))
	c, err := loadProcessContract()
	require.NoError(f, err)
	paths := slices.Sorted(maps.Keys(c.fixed))
	f.Fuzz(func(t *testing.T, which uint8, contentType string, body []byte) {
		bodyCheckAgrees(t, c, paths[int(which)%len(paths)], contentType, body)
	})
}

// Ensure the quick check's memory of accepted values (the resource and action names
// that come back request after request) is bounded and never widens the pattern: a
// value the pattern refuses is refused however often it comes, one it accepts is still
// accepted once remembered, and past matchMemoMax values or over matchMemoLen bytes
// nothing more is kept.
func TestMatchMemoBoundedAndFaithful(t *testing.T) {
	re := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var m matchMemo
	for range 3 {
		require.True(t, m.match(re, "show"))
		require.False(t, m.match(re, "Show"))
		require.False(t, m.match(re, "9show"))
	}
	require.Equal(t, int32(1), m.n.Load(), "only the accepted value is remembered")
	long := strings.Repeat("a", matchMemoLen+1)
	require.True(t, m.match(re, long))
	_, kept := m.seen.Load(long)
	require.False(t, kept, "a value over matchMemoLen bytes is not kept")
	for i := range 2 * matchMemoMax {
		require.True(t, m.match(re, fmt.Sprintf("m%d", i)))
	}
	require.Equal(t, int32(matchMemoMax), m.n.Load())
	require.True(t, m.match(re, fmt.Sprintf("m%d", 2*matchMemoMax-1)), "a value not kept is still judged by the pattern")
	require.False(t, m.match(re, "m-1"))
}
