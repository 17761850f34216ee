package dashboard_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crmmock/crmmock/internal/dashboard"
	"github.com/crmmock/crmmock/mockserver"
)

func get(t *testing.T, method, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// Ensure the page is one self-contained document: no external asset, and a CSP whose
// hashes are exactly those of its inline script and style (else the browser blocks them).
func TestPageIsSelfContained(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{})
	resp, body := get(t, http.MethodGet, srv.URL+"/__admin/ui")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, dashboard.Size(), len(body))
	t.Logf("page size: %d bytes (one document, every asset inlined)", len(body))

	for _, external := range []string{"http://", "https://", "src=", `href="/`, "@import", "url("} {
		require.NotContains(t, body, external, "the page must not load anything from elsewhere")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "connect-src 'self'")
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(body, -1)
		require.Len(t, m, 1, "one inline %s", tag)
		sum := sha256.Sum256([]byte(m[0][1]))
		require.Contains(t, csp, tag+"-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	require.NotContains(t, body, "style=\"", "inline style attributes would be blocked by the CSP")
}

// Ensure the page needs no admin token (it is static and reveals nothing) while the
// control calls it makes still do.
func TestPageOpenUnderAdminToken(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{AdminToken: "s3cret"})
	resp, body := get(t, http.MethodGet, srv.URL+"/__admin/ui")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(body, "<!doctype html>"))
	resp, _ = get(t, http.MethodGet, srv.URL+"/__admin/ui/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = get(t, http.MethodGet, srv.URL+"/__admin/clock")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, http.MethodGet, srv.URL+"/__admin/ui/../clock")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, http.MethodGet, srv.URL+"/__admin/uix")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, http.MethodGet, srv.URL+"/__admin/clock", "Authorization", "Bearer s3cret")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The same under a sandbox's admin_url.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/__admin/sandboxes", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	cr, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var sb struct {
		AdminURL string `json:"admin_url"`
	}
	require.NoError(t, json.NewDecoder(cr.Body).Decode(&sb))
	cr.Body.Close()
	require.Equal(t, http.StatusCreated, cr.StatusCode)
	resp, body = get(t, http.MethodGet, sb.AdminURL+"/ui")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(body, "<!doctype html>"))
	resp, _ = get(t, http.MethodGet, sb.AdminURL+"/clock")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, http.MethodGet, strings.Replace(sb.AdminURL, "/sandboxes/", "/sandboxes/x", 1)+"/ui")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "an unknown sandbox reveals nothing without the token")
}

// Ensure HEAD, conditional GET and other methods are answered as a static page should.
func TestPageMethods(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{})
	resp, body := get(t, http.MethodHead, srv.URL+"/__admin/ui")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, body)
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	resp, body = get(t, http.MethodGet, srv.URL+"/__admin/ui", "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body)
	resp, body = get(t, http.MethodPost, srv.URL+"/__admin/ui")
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Contains(t, body, `"error"`)
}
