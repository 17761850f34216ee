// Command bare is the baseline of BenchmarkBinaryStartToFirstAnswer: a bare net/http
// server that prints crmmock's listening line and answers /__admin/health, nothing else.
package main

import (
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
	_ = http.Serve(ln, nil)
}
