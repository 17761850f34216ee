// Command bareauth is the baseline of the loopback load test (internal/tools/loadcmp):
// a bare net/http token server doing what a hand-written CRM.COM stand-in would — decode
// the login, check the password, mint a 32-hex token (-release R10) or an HS256 JWT
// (-release R12) kept in a map under a mutex, and on any other GET look the token up
// (and check a JWT's signature and exp) — with no contract, journal, timeline or log.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type entry struct {
	issued, lastUsed time.Time
}

type server struct {
	jwt    bool
	secret []byte
	mu     sync.Mutex
	tokens map[string]*entry
}

func main() {
	release := flag.String("release", "R12", "R10 (opaque, idle hour) or R12 (JWT, 2 h)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	s := &server{jwt: *release == "R12", secret: make([]byte, 32), tokens: map[string]*entry{}}
	_, _ = rand.Read(s.secret)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("crmmock listening on http://%s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /crmapi/rest/v2/authentication/token", s.login)
	mux.HandleFunc("GET /crmapi/rest/v2/{resource}/{action}", s.use)
	mux.HandleFunc("GET /__admin/health", func(w http.ResponseWriter, _ *http.Request) { answer(w, "OK", "", `{"status":"ok"}`) })
	_ = http.Serve(ln, mux)
}

func answer(w http.ResponseWriter, code, desc, data string) {
	w.Header().Set("Content-Type", "application/json")
	if data == "" {
		data = "null"
	}
	_, _ = fmt.Fprintf(w, `{"status":{"code":%q,"message":"","description":%q},"data":%s}`+"\n", code, desc, data)
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username, Password, Organisation string
		Unit                             *string
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		answer(w, "INVALID_REQUEST", "Content-Type", "")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Username == "" || req.Organisation == "" {
		answer(w, "INVALID_REQUEST", "body", "")
		return
	}
	if req.Organisation != "CRMDEMO" || req.Username != "mpadministrator" || req.Password != "1234" {
		answer(w, "INVALID_CREDENTIALS", "", "")
		return
	}
	now := time.Now()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := strings.ToUpper(hex.EncodeToString(b))
	if s.jwt {
		iat := now.Unix()
		v, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"usr": req.Username, "org": req.Organisation, "oun": "1",
			"exp": strconv.FormatInt(iat+7200, 10), "iat": strconv.FormatInt(iat, 10), "jti": tok}).SignedString(s.secret)
		if err != nil {
			answer(w, "INTERNAL_ERROR", err.Error(), "")
			return
		}
		tok = v
	}
	s.mu.Lock()
	s.tokens[tok] = &entry{issued: now, lastUsed: now}
	s.mu.Unlock()
	answer(w, "OK", "", `{"token":"`+tok+`"}`)
}

func (s *server) use(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		answer(w, "INVALID_REQUEST", "token", "")
		return
	}
	if s.jwt {
		if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return s.secret, nil }, jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation()); err != nil {
			answer(w, "INVALID_TOKEN", err.Error(), "")
			return
		}
	}
	now := time.Now()
	s.mu.Lock()
	e, ok := s.tokens[tok]
	live := ok && (s.jwt && now.Before(e.issued.Add(2*time.Hour)) || !s.jwt && now.Before(e.lastUsed.Add(time.Hour)))
	if live {
		e.lastUsed = now
	}
	s.mu.Unlock()
	switch {
	case !ok:
		answer(w, "INVALID_TOKEN", "", "")
	case !live:
		answer(w, "TOKEN_EXPIRED", "", "")
	default:
		answer(w, "OK", "", "{}")
	}
}
