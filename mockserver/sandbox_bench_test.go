package mockserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkSandboxCreate is the cost of one sandbox with the default scenario
// (docs/faults-and-sandboxes.md target: ≤ 1 ms and ≤ 100 KB): ns/op and B/op of NewSandbox, and
// retained-B/sandbox, the heap a live sandbox holds (measured over b.N live ones).
func BenchmarkSandboxCreate(b *testing.B) {
	m, err := New(Options{MaxSandboxes: 1 << 30, Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.NewSandbox(SandboxOptions{}); err != nil { // warm: contract, router
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.NewSandbox(SandboxOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "retained-B/sandbox")
	m.DeleteSandboxes()
}

// BenchmarkSandboxUse is a Web API request through the root's ServeHTTP into a
// sandbox (the lookup and the prefix strip on top of BenchmarkUse's work).
func BenchmarkSandboxUse(b *testing.B) {
	m, err := New(Options{Version: "R10", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	sb, err := m.NewSandbox(SandboxOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.DeleteSandboxes() })
	base := sb.Prefix() + sb.BasePath()
	tok := hzIssue(b, m, base)
	target := base + "/contact_information/show?token=" + tok
	w := newHZSink()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.reset()
		m.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.code != http.StatusOK || !bytes.Contains(w.body.Bytes(), hzOK) {
			b.Fatalf("answered %d %s", w.code, w.body.Bytes())
		}
	}
}
