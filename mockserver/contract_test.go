package mockserver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the routes built from the document for the fast path (routeIn) are the
// router's own answers, field by field (server, path, path item, method, operation), for
// every fixed path and both methods of /{resource}/{action…}.
func TestRoutesInAreTheRouters(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	require.True(t, singlePlainServer(c.doc), "the shipped contract's routes are built by routeIn")
	router, err := c.router()
	require.NoError(t, err)
	check := func(method, path, template string) {
		req, err := http.NewRequest(method, docBasePath+path, nil)
		require.NoError(t, err)
		want, _, err := router.FindRoute(req)
		require.NoError(t, err, "%s %s", method, path)
		got := routeIn(c.doc, method, template)
		require.NotNil(t, got, "%s %s", method, template)
		assert.Same(t, want.Spec, got.Spec)
		assert.Same(t, want.Server, got.Server)
		assert.Equal(t, want.Path, got.Path)
		assert.Same(t, want.PathItem, got.PathItem)
		assert.Equal(t, want.Method, got.Method)
		assert.Same(t, want.Operation, got.Operation, "%s %s", method, path)
	}
	for _, p := range fixedPaths {
		check(http.MethodPost, p, p)
	}
	check(http.MethodGet, "/resource/action", otherPath)
	check(http.MethodPost, "/customer_events/purchases/create", otherPath)
	assert.Nil(t, routeIn(c.doc, http.MethodDelete, fixedPaths[0]), "a method the path lacks")
	assert.Nil(t, routeIn(c.doc, http.MethodPost, "/nowhere"), "a path the document lacks")
}

// Ensure a contract whose path lists its own servers (an edited copy of openapi.yaml)
// is routed by the router, as the fast path's routes were found before routeIn: a login
// under the document's base path, which the login's path item no longer serves, is
// answered as the router answers it (F1: no such Web API method there), not logged in.
func TestF1PathServersRoutedAsTheRouterDoes(t *testing.T) {
	c := editedContract(t, func(doc map[string]any) {
		at(doc, "paths", "/authentication/token")["servers"] = []any{map[string]any{"url": "/elsewhere"}}
	})
	router, err := c.router()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, docBasePath+"/authentication/token", nil)
	require.NoError(t, err)
	want, _, err := router.FindRoute(req)
	got := c.fixed["/authentication/token"]
	if err != nil {
		assert.Nil(t, got, "the router finds no route (%v), the fast path has one", err)
	} else {
		require.NotNil(t, got)
		assert.Equal(t, want.Path, got.Path)
		assert.Same(t, want.Server, got.Server)
	}
	h := start(t, Options{Version: "R10", contract: c})
	r := h.post("authentication/token", creds())
	assert.NotEqual(t, "OK", h.code(r), "%s", r.Raw)
}
