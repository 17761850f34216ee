package mockserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/crmmock/crmmock"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminContract is admin-openapi.yaml, loaded, validated and routed once per test binary.
var adminContract = sync.OnceValues(func() (*openapi3.T, routers.Router) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(crmmock.AdminOpenAPI)
	if err != nil {
		panic("admin-openapi.yaml: " + err.Error())
	}
	if err := doc.Validate(loader.Context); err != nil {
		panic("admin-openapi.yaml does not validate: " + err.Error())
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		panic("admin-openapi.yaml routes: " + err.Error())
	}
	return doc, router
})

// sandboxAdminPrefix is the part of a sandbox's admin_url before /__admin.
var sandboxAdminPrefix = regexp.MustCompile(`^/sandboxes/[^/]+`)

// checkAdminAnswer validates a control API answer against admin-openapi.yaml: its
// status must be documented for the call and its body must match the schema. A call
// the document lacks fails the test; unknown paths and methods must answer the
// documented error shape.
func checkAdminAnswer(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	doc, router := adminContract()
	routed := req.Clone(context.Background())
	routed.URL.Path = sandboxAdminPrefix.ReplaceAllString(routed.URL.Path, "")
	routed.URL.RawPath = ""
	inSandbox := routed.URL.Path != req.URL.Path
	route, params, err := router.FindRoute(routed)
	if err != nil || inSandbox && status == http.StatusNotFound { // the document's info: a sandbox that is gone, or nested sandboxes
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnauthorized}, status,
			"%s %s answered %d but admin-openapi.yaml has no such call", req.Method, req.URL.Path, status)
		var v any
		require.NoError(t, json.Unmarshal(body, &v))
		require.NoError(t, doc.Components.Responses["Error"].Value.Content.Get("application/json").Schema.Value.VisitJSON(v),
			"an unknown call answers the documented error: %s", body)
		return
	}
	err = validateAnswer(routed, route, params, status, header, body)
	require.NoError(t, err, "%s %s: answer outside admin-openapi.yaml: %d %s", req.Method, req.URL.Path, status, body)
}

// Ensure admin-openapi.yaml documents exactly the control calls the router serves.
func TestAdminContractCoversRouter(t *testing.T) {
	doc, _ := adminContract()
	var routed, documented []string
	require.NoError(t, adminRouter().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		path := strings.TrimPrefix(tpl, "/__admin")
		if path == "" {
			return nil // the /__admin prefix itself
		}
		methods, err := route.GetMethods()
		if err != nil { // a handler that answers other methods itself: GET
			methods = []string{http.MethodGet}
		}
		methods = slices.DeleteFunc(slices.Clone(methods), func(m string) bool {
			return m == http.MethodHead // the dashboard page's HEAD: its documented GET without the body
		})
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/") // the same page with a trailing slash
		}
		for _, m := range methods {
			if call := m + " " + path; !slices.Contains(routed, call) {
				routed = append(routed, call)
			}
		}
		return nil
	}))
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	assert.Equal(t, documented, routed, "admin-openapi.yaml (left) and adminRouter (right) disagree")
}

// Ensure both OpenAPI documents are served as they are embedded.
func TestContractsServed(t *testing.T) {
	h := startVersion(t, "R12")
	for path, want := range map[string][]byte{"/__admin/openapi.yaml": crmmock.OpenAPI, "/__admin/admin-openapi.yaml": crmmock.AdminOpenAPI} {
		req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
		require.NoError(t, err)
		resp, err := h.Client().Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, "application/yaml", resp.Header.Get("Content-Type"), path)
		assert.Equal(t, string(want), string(body), path)
		checkAdminAnswer(t, req, resp.StatusCode, resp.Header, body)
	}
	loader := openapi3.NewLoader()
	served, err := loader.LoadFromData(crmmock.OpenAPI)
	require.NoError(t, err)
	assert.Contains(t, served.Paths.Map(), "/authentication/web_api_key/token", "a client generator gets the Web API")
}

// Ensure a control path called with a method it does not serve answers 405 (not 404):
// an Allow header and a JSON error naming the methods admin-openapi.yaml documents for
// that path, at the root and under a sandbox's admin_url. A path that is no control
// call stays 404.
func TestAdminWrongMethod405(t *testing.T) {
	h := startVersion(t, "R12")
	sb, err := h.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	doc, router := adminContract()
	methods := []string{http.MethodDelete, http.MethodGet, http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodOptions}
	fill := strings.NewReplacer("{token}", "NOSUCHTOKEN", "{id}", "nosuchid")
	checked := 0
	for path := range doc.Paths.Map() {
		concrete := "/__admin" + fill.Replace(path)
		var allowed []string // what the document serves on this concrete path
		for _, m := range methods {
			req, err := http.NewRequest(m, concrete, nil)
			require.NoError(t, err)
			if _, _, err := router.FindRoute(req); err == nil {
				allowed = append(allowed, m)
			}
		}
		require.NotEmpty(t, allowed, path)
		for _, m := range methods {
			if slices.Contains(allowed, m) {
				continue
			}
			for _, prefix := range []string{"", sb.Prefix()} {
				st, v := h.admin(m, prefix+concrete, "")
				if !assert.Equal(t, http.StatusMethodNotAllowed, st, "%s %s%s: %v", m, prefix, concrete, v) {
					continue
				}
				msg, _ := v["error"].(string)
				assert.Contains(t, msg, "method "+m+" not allowed on "+concrete, "%s %s", m, concrete)
				assert.Contains(t, msg, strings.Join(allowed, ", "), "the error names the allowed methods")
				checked++
			}
		}
	}
	assert.Greater(t, checked, 100)

	// The Allow header (h.admin does not return headers).
	for call, want := range map[string]string{
		"PATCH /__admin/faults":                     "DELETE, GET, POST",
		"DELETE /__admin/tokens/revoke":             "POST", // not the timeline's GET: no token is called "revoke"
		"GET /__admin/tokens/revoke":                "POST",
		"OPTIONS " + sb.Prefix() + "/__admin/clock": "GET",
	} {
		method, path, _ := strings.Cut(call, " ")
		req, err := http.NewRequest(method, h.URL+path, nil)
		require.NoError(t, err)
		resp, err := h.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, call)
		assert.Equal(t, want, resp.Header.Get("Allow"), call)
	}
	for _, p := range []string{"/__admin/nothing", "/__admin/clock/nothing", "/__admin/tokens/a/b/c"} {
		st, v := h.admin(http.MethodPatch, p, "")
		assert.Equal(t, http.StatusNotFound, st, p)
		assert.Contains(t, v["error"], "no control call", p)
	}
}
