// Cross-cutting suite (keeps its name): benchmarks of the built binary from exec to its first answer and first login.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var bareBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(binary), "bare")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/bare").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build bare: %v: %s", err, out)
	}
	return bin, nil
})

// startTo starts bin with args, waits for the listening line, and returns the time from
// exec to the first answered GET /__admin/health, or with login to the first answered
// login (a suite's first need is a token): POST authentication/token with the
// documentation's user.
func startTo(login bool, bin string, args ...string) (time.Duration, error) {
	begin := time.Now()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("%s: no listening line: %v", bin, err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "crmmock listening on "))
	var resp *http.Response
	if login {
		resp, err = http.Post(url+"/crmapi/rest/v2/authentication/token", "application/json",
			strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	} else {
		resp, err = http.Get(url + "/__admin/health")
	}
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || login && !strings.Contains(string(body), `"code":"OK"`) {
		return 0, fmt.Errorf("%s: answered %d %s", bin, resp.StatusCode, body)
	}
	return time.Since(begin), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkBinaryStartToFirstAnswer measures from exec of the built binary to its first
// answered /__admin/health, interleaved with a bare net/http server (testdata/bare) in
// the same run. It reports medians: crmmock-ms, bare-ms, gap-ms (crmmock - bare) and
// x-bare (crmmock ÷ bare). With CRMMOCK_BENCH_BEFORE set to another crmmock binary (e.g.
// one built from an older commit) it is run in the same loop too and reported as
// before-ms. Run with `go test -run '^$' -bench StartToFirstAnswer -benchtime 100x ./cmd/crmmock`.
func BenchmarkBinaryStartToFirstAnswer(b *testing.B) { benchStart(b, false) }

// BenchmarkBinaryStartToFirstLogin is BenchmarkBinaryStartToFirstAnswer up to the first
// answered login (R12: a signed JWT; the contract validates the request), interleaved
// with the bare server's login (the goal is x-bare ≤ 1.3). Run with
// `go test -run '^$' -bench StartToFirstLogin -benchtime 100x ./cmd/crmmock`.
func BenchmarkBinaryStartToFirstLogin(b *testing.B) { benchStart(b, true) }

func benchStart(b *testing.B, login bool) {
	bare, err := bareBinary()
	if err != nil {
		b.Fatal(err)
	}
	before := os.Getenv("CRMMOCK_BENCH_BEFORE")
	var mock, base, old []time.Duration
	measure := func(into *[]time.Duration, bin string, args ...string) {
		d, err := startTo(login, bin, args...)
		if err != nil {
			b.Fatal(err)
		}
		*into = append(*into, d)
	}
	for b.Loop() {
		if before != "" {
			measure(&old, before, "serve", "--addr", "127.0.0.1:0", "--log-level", "error")
		}
		measure(&mock, binary, "serve", "--addr", "127.0.0.1:0", "--log-level", "error")
		measure(&base, bare)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(median(mock)), "crmmock-ms")
	b.ReportMetric(ms(median(base)), "bare-ms")
	b.ReportMetric(ms(median(mock))-ms(median(base)), "gap-ms")
	b.ReportMetric(ms(median(mock))/ms(median(base)), "x-bare")
	if before != "" {
		b.ReportMetric(ms(median(old)), "before-ms")
	}
}
