package mockserver

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
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
		if !c.otherGetQuick.valid(params, query) {
			continue
		}
		passed++
		req, err := http.NewRequest(http.MethodGet, docBasePath+"/"+url.PathEscape(params["resource"])+"/"+params["action"]+"?"+query.Encode(), nil)
		require.NoError(t, err)
		if aerr := slow.validate(context.Background(), req, c.otherGet, params, query, nil); aerr != nil {
			t.Fatalf("quick check passed what the validator refuses: %v %v: %s", params, query, aerr.Description)
		}
	}
	require.Greater(t, passed, 100, "the quick check passed almost nothing")
	require.True(t, c.otherGetQuick.valid(map[string]string{"resource": "contact_information", "action": "show"},
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
