package mockserver

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the operations table and the contract name the same operations, each row's
// kind has a handler, and a fixed operation's name is its path in the contract: adding
// a method is adding a row, and a row the contract lacks (or the reverse) fails here.
func TestOperationsTableMatchesContract(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	inContract := map[string]string{} // operationId → path
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for _, op := range c.doc.Paths.Value(path).Operations() {
			inContract[op.OperationID] = path
		}
	}
	require.Len(t, ops.Table, len(inContract), "one row per contract operation")
	for _, o := range ops.Table {
		path, ok := inContract[o.ID]
		require.True(t, ok, "row %s: no such operationId in openapi.yaml", o.ID)
		require.NotNil(t, handlerOf(o), "row %s: kind %d has no handler", o.ID, o.Kind)
		if o.Fixed() {
			require.Equal(t, "/"+o.Name, path, "row %s", o.ID)
		} else {
			require.True(t, strings.HasPrefix(path, "/{"), "row %s: a method without a name is the template path, got %s", o.ID, path)
		}
	}
}

// Ensure a Web API key that may not use its user's default unit gets the first unit of
// its own `units` list, every time (issue 8, item 4; F7: the key's token is its user's,
// in a unit the key may use).
func TestKeyTokenUnitIsDeterministic(t *testing.T) {
	sc, err := ParseScenario([]byte(`
organisations:
  - name: O
    units: [{id: U1}, {id: U2}, {id: U3}, {id: U4}, {id: U5}, {id: U6}]
    users: [{username: u, password: p, default_unit: U1}]
    web_api_keys:
      - {key: K, user: u, units: [U5, U3, U2, U6]}
`))
	require.NoError(t, err)
	for _, version := range []string{"R10", "R12"} {
		h := start(t, Options{Version: version, Scenario: sc})
		for range 64 {
			r := h.post("authentication/web_api_key/token", nil, "Authorization", basic("K"))
			require.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
			tok, ok := h.Token(r.token(t))
			require.True(t, ok)
			assert.Equal(t, "U5", tok.Unit, "%s: the first of the key's units, as listed", version)
		}
	}
}

// Ensure a query of more than 10 000 parameters (net/url parses none of them then) is
// answered "too many query parameters" and journaled as a violation, instead of a
// present token being reported missing (issue 8, item 6); 10 000 still work.
func TestTooManyQueryParameters(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	get := func(junk int) reply {
		q := "token=" + tok + strings.Repeat("&x=1", junk)
		req, err := http.NewRequest(http.MethodGet, h.APIURL("contact_information/show")+"?"+q, nil)
		require.NoError(t, err)
		return h.do(req)
	}
	r := get(maxQueryParams - 1)
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)

	r = get(maxQueryParams)
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code)
	require.NotNil(t, r.Status.Description)
	assert.Contains(t, *r.Status.Description, "too many query parameters")
	v := h.Violations()
	require.NotEmpty(t, v)
	assert.Contains(t, v[len(v)-1].Violations[0], "too many query parameters")
}

// decodeLoginAgrees fails t when decodeLogin, given the body check's decoding of body,
// reads the login otherwise than json.Unmarshal does.
func decodeLoginAgrees(t testing.TB, b *bodyCheck, body []byte) {
	t.Helper()
	parsed, ok := b.valid(jsonContentType, body)
	if !ok {
		return
	}
	var want loginRequest
	wantErr := json.Unmarshal(body, &want)
	got, err := decodeLogin(body, parsed)
	if wantErr != nil {
		require.Error(t, err, "%s", body)
		return
	}
	require.NoError(t, err, "%s", body)
	require.Equal(t, want, got, "%s", body)
}

// Ensure a login read from the validator's decoding (F2) is the login json.Unmarshal
// reads, over generated bodies with the fields in any case, non-ASCII names that fold
// to them (ſ, K), duplicates, nulls, unknown fields and access token identifiers (F12).
func TestDecodeLoginAgreesWithUnmarshal(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	b := c.bodyChecks[c.fixed["/authentication/token"]]
	require.NotNil(t, b)
	names := []string{"username", "password", "organisation", "unit", "access_token_identifier", "UserName", "PASSWORD",
		"uſername", "organiſation", "Unit", "x", "token", "é"}
	values := []string{`"mpadministrator"`, `"1234"`, `"CRMDEMO"`, `""`, `null`, `"é😀"`, `7`, `{"authentication_code":"A"}`}
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for range 5000 {
		var sb strings.Builder
		sb.WriteString(`{"organisation":"CRMDEMO"`)
		for range rng.IntN(6) {
			sb.WriteString(`,"` + pick(names) + `":` + pick(values))
		}
		sb.WriteString("}")
		decodeLoginAgrees(t, b, []byte(sb.String()))
	}
	parsed, ok := b.valid(jsonContentType, []byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	require.True(t, ok)
	var req loginRequest
	require.True(t, req.takeParsed(parsed.(map[string]any)), "the common login is read from the validator's decoding")
}

// FuzzDecodeLogin: any login body; decodeLogin reads what json.Unmarshal reads.
func FuzzDecodeLogin(f *testing.F) {
	f.Add([]byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	f.Add([]byte(`{"username":"a","USERNAME":"b","organisation":"CRMDEMO","unit":null}`))
	f.Add([]byte(`{"organisation":"CRMDEMO","access_token_identifier":{"identifier":"i","pass_code":"p"}}`))
	c, err := loadProcessContract()
	require.NoError(f, err)
	b := c.bodyChecks[c.fixed["/authentication/token"]]
	f.Fuzz(func(t *testing.T, body []byte) { decodeLoginAgrees(t, b, body) })
}

// Ensure a login handed to ServeHTTP in process is read to the end of its body, as
// before bodies were read by their announced size, when its ContentLength is stale (the
// body replaced after the request was built): a body longer or shorter than announced
// logs in (F2), neither cut at the announced size nor refused as unreadable.
func TestF2LoginBodyReadToItsEndNotItsContentLength(t *testing.T) {
	m := newTestMock(t, "R10")
	body := `{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`
	for _, announced := range []int64{int64(len(body)) - 10, int64(len(body)) + 10} {
		req := httptest.NewRequest(http.MethodPost, docBasePath+"/authentication/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = announced
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, req)
		code, _, err := parseEnvelope(rec.Body.Bytes())
		require.NoError(t, err)
		assert.Equal(t, "OK", code, "Content-Length %d for a body of %d bytes: %s", announced, len(body), rec.Body.Bytes())
	}
}

// stalledBody is a request body whose client announced its size and then went away
// before sending a byte.
type stalledBody struct{}

func (stalledBody) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
func (stalledBody) Close() error             { return nil }

// Ensure a body costs memory as its bytes arrive, not as its Content-Length announces:
// a client that announces the body limit (1 MiB) and sends nothing (then, say, holds the
// connection until the read timeout) makes the mock allocate a few KiB, not the limit,
// so many such connections cannot make the mock hold a MiB each. Its answer is
// INVALID_REQUEST, the body unreadable.
func TestAnnouncedBodyCostsNoMemoryBeforeItArrives(t *testing.T) {
	m := newTestMock(t, "R10")
	read := func() {
		req := httptest.NewRequest(http.MethodPost, docBasePath+"/authentication/token", nil)
		req.Body, req.ContentLength = stalledBody{}, m.bodyLimit
		if _, aerr := m.readBody(req); aerr == nil || aerr.Code != CodeInvalidRequest {
			t.Fatalf("a body cut short: %v", aerr)
		}
	}
	require.Less(t, testutil.AllocatedBy(20, read), uint64(64<<10), "bytes allocated for a body of %d announced bytes that never came", m.bodyLimit)
}
