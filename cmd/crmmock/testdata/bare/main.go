// Command bare is the baseline of BenchmarkBinaryStartToFirstAnswer and
// BenchmarkBinaryStartToFirstLogin: a bare net/http server that prints crmmock's
// listening line, answers /__admin/health, and answers a login as a hand-written
// stand-in would (decode the JSON, check the password, a random 32-hex token).
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("crmmock listening on http://%s\n", ln.Addr())
	http.HandleFunc("/__admin/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	http.HandleFunc("POST /crmapi/rest/v2/authentication/token", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Username, Password, Organisation string }
		w.Header().Set("Content-Type", "application/json")
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Username != "mpadministrator" || req.Password != "1234" || req.Organisation != "CRMDEMO" {
			_, _ = w.Write([]byte(`{"status":{"code":"INVALID_CREDENTIALS","message":"","description":""},"data":null}` + "\n"))
			return
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		_, _ = fmt.Fprintf(w, `{"status":{"code":"OK","message":"","description":""},"data":{"token":"%X"}}`+"\n", b)
	})
	_ = http.Serve(ln, nil)
}
