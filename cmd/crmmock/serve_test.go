package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure SIGINT/SIGTERM (a cancelled context) lets a request in flight finish: a
// login whose body is still arriving when shutdown starts gets its full answer, new
// connections are refused, and Main returns 0.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, done := serveInProcess(t, ctx, "--addr", "127.0.0.1:0", "--version", "R10", "--log-level", "error")
	addr := strings.TrimPrefix(root, "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`
	head := fmt.Sprintf("POST /crmapi/rest/v2/authentication/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", addr, len(body))
	br := startInFlight(t, conn, head)
	if _, err := io.WriteString(conn, body[:20]); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitRefused(t, addr) // shutdown has begun: the listener is closed
	select {
	case code := <-done:
		t.Fatalf("Main returned %d while a request was in flight", code)
	default:
	}
	if _, err := io.WriteString(conn, body[20:]); err != nil {
		t.Fatalf("finishing the body: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"code":"OK"`) {
		t.Errorf("in-flight answer: %d %s", resp.StatusCode, got)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("Main returned %d, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Main did not return after the in-flight request finished")
	}
}

// Ensure SIGINT/SIGTERM does not wait for a request held by a delay fault: a login
// held by a 1 h delay is answered at once (the fault's effect, early), serve exits 0
// well within the 10 s grace, and the client never hangs.
func TestGracefulShutdownEndsFaultDelays(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, done := serveInProcess(t, ctx, "--addr", "127.0.0.1:0", "--version", "R10", "--log-level", "error")
	resp, err := http.Post(root+"/__admin/faults", "application/json", strings.NewReader(`{"operation":"authentication/token","delay":"1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("adding the fault: %d", resp.StatusCode)
	}

	held, stop := context.WithCancel(context.Background())
	defer stop()
	answer := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(held, http.MethodPost, root+"/crmapi/rest/v2/authentication/token",
			strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- string(body)
	}()
	waitFaultFired(t, root) // the login is waiting in its delay
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d, want 0 (the held request ends with the shutdown)", code)
		}
	case <-time.After(shutdownGrace / 2):
		t.Fatal("serve waits for a request held by a delay fault")
	}
	select {
	case got := <-answer:
		if !strings.Contains(got, `"code":"OK"`) && !strings.HasPrefix(got, "error: ") {
			t.Errorf("the held login got %s", got)
		}
		if strings.Contains(got, "context canceled") {
			t.Errorf("the held login was still held when serve returned: %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held client got neither an answer nor a closed connection")
	}
}

// startInFlight sends a request's header lines (head, without the blank line that ends
// them) with Expect: 100-continue and returns once the server answers 100 Continue: the
// handler is running and reading the body, so the request is in flight. The reader it
// returns is positioned after the 100 Continue.
func startInFlight(t *testing.T, conn net.Conn, head string) *bufio.Reader {
	t.Helper()
	if _, err := io.WriteString(conn, head+"Expect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for 100 Continue: %v", err)
		}
		if strings.TrimSpace(line) == "" {
			break // the end of the interim answer
		}
		if !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("waiting for 100 Continue, got %q", line)
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	return br
}

// waitRefused waits until addr refuses new connections (the server closed its listener).
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		runtime.Gosched()
	}
	t.Fatal("the listener still accepts connections 10 s after shutdown began")
}

// waitFaultFired waits until the root's first fault has fired once (a request matched
// it and is being delayed or answered by it).
func waitFaultFired(t *testing.T, root string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		resp, err := http.Get(root + "/__admin/faults")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"fired":1`) {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("the fault did not fire within 10 s")
}

// serveInProcess runs `crmmock serve args…` through Main until ctx ends and returns the
// root URL from its listening line, and a channel that gets Main's exit code.
func serveInProcess(t *testing.T, ctx context.Context, args ...string) (root string, done <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		exit <- Main(ctx, append([]string{"serve"}, args...), pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listening line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return strings.TrimSpace(strings.TrimPrefix(line, "crmmock listening on ")), exit
}

// Ensure --release takes releases at minor precision (F11): `--release R16.2` serves
// R16.2, the command line beats CRMMOCK_VERSION, and a release before R4 is refused
// naming the flag.
func TestCLIReleaseFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	root, done := serveInProcess(t, ctx, "--addr", "127.0.0.1:0", "--release", "R16.2", "--log-level", "error")
	resp, err := http.Get(root + "/__admin/version")
	require.NoError(t, err)
	var v struct{ Version string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	_ = resp.Body.Close()
	assert.Equal(t, "R16.2", v.Version)
	cancel()
	assert.Equal(t, 0, <-done)

	t.Setenv("CRMMOCK_VERSION", "X9")
	code, _, errOut := cli(t, "serve", "--addr", "127.0.0.1:0", "--release", "R10")
	assert.Equal(t, 0, code, "the flag wins over a bad variable: %s", errOut)

	code, _, errOut = cli(t, "serve", "--addr", "127.0.0.1:0", "--release", "R3")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--release: unknown release "R3"`)
}
