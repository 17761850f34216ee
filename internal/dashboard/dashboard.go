// Package dashboard is the page at GET /__admin/ui (docs/dashboard.md): the mock clock and
// release with the controls that move them, one timeline row per token, the journal
// and the lint findings.
//
// The page is a pure client of the control API: it holds no server state, reads only
// what a test could read, and finds the API through its own address (the path without
// its last "/ui"), so the same page works at the root and under a sandbox's admin_url.
// Every asset is embedded in the binary and served as one document (no CDN, no build
// step): the style and script are inlined once at start and pinned by a
// Content-Security-Policy that lists their hashes, so the page can talk only to its own
// origin.
package dashboard

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

var (
	//go:embed assets/index.html
	indexHTML string
	//go:embed assets/style.css
	styleCSS string
	//go:embed assets/app.js
	appJS string
)

// Path is where the mock mounts the page, relative to the control API's root.
const Path = "/ui"

type page struct {
	body []byte
	csp  string
	etag string
}

// build inlines the style and script into the document and derives the CSP and ETag.
var build = sync.OnceValue(func() page {
	html := strings.Replace(indexHTML, "/*STYLE*/", styleCSS, 1)
	html = strings.Replace(html, "/*SCRIPT*/", appJS, 1)
	body := []byte(html)
	sum := sha256.Sum256(body)
	return page{
		body: body,
		csp: strings.Join([]string{
			"default-src 'none'",
			"script-src " + hashSource(appJS),
			"style-src " + hashSource(styleCSS),
			"connect-src 'self'",
			"img-src data:",
			"base-uri 'none'",
			"form-action 'none'",
			"frame-ancestors 'none'",
		}, "; "),
		etag: fmt.Sprintf(`"%x"`, sum[:8]),
	}
})

func hashSource(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Size is the page's size in bytes as served (every asset included).
func Size() int { return len(build().body) }

// Handler serves the page to GET and HEAD (the control router mounts it for those
// methods only, and answers others 405 as it does on every control path). It needs no
// admin token: the page is the same static document for everyone and reveals nothing;
// its calls to the control API carry the token the user gives it.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := build()
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", p.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", p.etag)
		if r.Header.Get("If-None-Match") == p.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", fmt.Sprint(len(p.body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(p.body)
	})
}
