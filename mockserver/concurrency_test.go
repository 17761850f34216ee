// Cross-cutting suite (keeps its name): concurrent clients while the clock moves and the release switches.

package mockserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stateRank orders token states: a token only moves forward (live → expired or
// released; both final).
func stateRank(s State) int {
	if s == StateLive {
		return 0
	}
	return 1
}

// Ensure the store stays consistent under load: 64 clients issue (both methods), use
// and release tokens over a real socket while the fake clock advances and the release
// switches underneath them. Afterwards every issued token is listed exactly once, none
// is lost or invented, states only moved forward (watched throughout), and every
// token a client released is released.
func TestConcurrentClientsClockAndRelease(t *testing.T) {
	const clients = 64
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	s := Start(t, Options{Version: "R10", JWTSecret: []byte(fixedSecret), Start: t0})
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	call := func(req *http.Request) (string, string, error) {
		resp, err := hc.Do(req)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", "", err
		}
		code, data, err := parseEnvelope(b)
		if err != nil {
			return "", "", err
		}
		var d struct{ Token string }
		_ = json.Unmarshal(data, &d)
		return code, d.Token, nil
	}
	post := func(method, body string, basic bool) (string, string, error) {
		req, _ := http.NewRequest(http.MethodPost, s.APIURL(method), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if basic {
			req.SetBasicAuth(docKey, "")
		}
		return call(req)
	}
	use := func(tok string) (string, error) {
		req, _ := http.NewRequest(http.MethodGet, s.APIURL("contact_information/show")+"?token="+tok, nil)
		code, _, err := call(req)
		return code, err
	}

	stop := make(chan struct{})
	var bg sync.WaitGroup
	var advances, switches, polls atomic.Int64
	var watchErr atomic.Value
	bg.Add(3)
	go func() { // the clock moves forward 1-3 minutes at a time
		defer bg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if _, err := s.Advance(time.Duration(1+i%3) * time.Minute); err != nil {
				watchErr.Store(err.Error())
				return
			}
			advances.Add(1)
		}
	}()
	go func() { // the release switches; tokens keep the rule they were issued under
		defer bg.Done()
		versions := []string{"R10", "R12", "R9", "R11", "R12.0.0"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			if _, err := s.SetVersion(versions[i%len(versions)]); err != nil {
				watchErr.Store(err.Error())
				return
			}
			switches.Add(1)
		}
	}()
	go func() { // states only move forward, as seen by a reader of Tokens()
		defer bg.Done()
		seen := map[string]State{}
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, tk := range s.Tokens() {
				if old, ok := seen[tk.Token]; ok && stateRank(tk.State) < stateRank(old) || old == StateExpired && tk.State == StateReleased {
					watchErr.Store(fmt.Sprintf("token %s went %s -> %s", tk.Token, old, tk.State))
				}
				seen[tk.Token] = tk.State
			}
			polls.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()

	type outcome struct {
		issued   []string
		released []string
	}
	results := make([]outcome, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := &results[c]
			fail := func(format string, args ...any) {
				errs <- fmt.Errorf("client %d: "+format, append([]any{c}, args...)...)
			}
			for r := range rounds {
				var code, tok string
				var err error
				if (c+r)%3 == 0 {
					code, tok, err = post("authentication/web_api_key/token", "", true)
				} else {
					code, tok, err = post("authentication/token", `{"username":"`+docUser+`","password":"`+docPass+`","organisation":"`+docOrg+`"}`, false)
				}
				switch {
				case err != nil:
					fail("issue: %v", err)
					return
				case code == string(CodeNotAvailable): // the key method while pre-R10 is emulated
					continue
				case code != string(CodeOK) || tok == "":
					fail("issue: %s", code)
					return
				}
				out.issued = append(out.issued, tok)
				for range 2 {
					code, err := use(tok)
					if err != nil || (code != string(CodeOK) && code != string(CodeTokenExpired)) {
						fail("use of a token not released: %s %v", code, err)
						return
					}
				}
				if r%2 == 0 {
					continue // keep half the tokens unreleased
				}
				code, _, err = post("authentication/token/release", `{"token":"`+tok+`"}`, false)
				switch {
				case err != nil:
					fail("release: %v", err)
					return
				case code == string(CodeOK):
					out.released = append(out.released, tok)
					if code, err := use(tok); err != nil || code != string(CodeTokenReleased) {
						fail("use after release: %s %v", code, err)
						return
					}
				case code != string(CodeNotAvailable) && code != string(CodeTokenExpired):
					fail("release: %s", code)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v := watchErr.Load(); v != nil {
		t.Fatal(v)
	}

	list := s.Tokens()
	byValue := make(map[string]Token, len(list))
	for _, tk := range list {
		if _, dup := byValue[tk.Token]; dup {
			t.Errorf("token %s listed twice", tk.Token)
		}
		byValue[tk.Token] = tk
	}
	issued, released := 0, 0
	for _, out := range results {
		issued += len(out.issued)
		released += len(out.released)
		for _, tok := range out.issued {
			if _, ok := byValue[tok]; !ok {
				t.Errorf("issued token %s is not listed", tok)
			}
		}
		for _, tok := range out.released {
			if byValue[tok].State != StateReleased {
				t.Errorf("released token %s is %s", tok, byValue[tok].State)
			}
		}
	}
	if len(list) != issued {
		t.Errorf("Tokens() lists %d, clients were issued %d", len(list), issued)
	}
	n := 0
	for _, tk := range list {
		if tk.State == StateReleased {
			n++
		}
	}
	if n != released {
		t.Errorf("%d tokens released in the store, clients released %d", n, released)
	}
	t.Logf("%d clients: %d tokens issued, %d released; %d clock advances, %d release switches, %d store polls",
		clients, issued, released, advances.Load(), switches.Load(), polls.Load())
	if advances.Load() == 0 || switches.Load() == 0 {
		t.Error("the clock or the release never moved during the run")
	}
}
