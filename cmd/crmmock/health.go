package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// healthConfig is the health command's flags.
type healthConfig struct {
	url     string
	timeout time.Duration
}

func (c *healthConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "root URL of the mock (default: http://$CRMMOCK_ADDR with 0.0.0.0 dialled as 127.0.0.1, else http://127.0.0.1:8080)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "give up after this long")
}

func init() {
	register(&command{name: "health", flags: new(healthConfig).flags, run: health})
}

// health is `crmmock health`: exit 0 when the mock answers GET /__admin/health with
// {"status":"ok"}, else 1 with one line. It needs no shell, no DNS and no files, so a
// FROM scratch image can run it as its HEALTHCHECK.
func health(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c healthConfig
	fs := newFlagSet("health", c.flags)
	if err := fs.Parse(args); err != nil {
		return usageError(stderr, "health", err)
	}
	if err := strayArgs(fs.Args()); err != nil {
		return usageError(stderr, "health", err)
	}
	if c.timeout <= 0 {
		return usageError(stderr, "health", fmt.Errorf("--timeout: %s: want a positive duration", c.timeout))
	}
	target, err := healthURL(c.url)
	if err != nil {
		return usageError(stderr, "health", err)
	}
	if err := checkHealth(ctx, target, c.timeout); err != nil {
		fmt.Fprintf(stderr, "crmmock health: %s: %v\n", target, err)
		return 1
	}
	return 0
}

// healthURL is the health endpoint of --url, or of CRMMOCK_ADDR (an unspecified
// address, 0.0.0.0, :: or none, is dialled on loopback), or of 127.0.0.1:8080.
func healthURL(flagURL string) (string, error) {
	root := flagURL
	if root == "" {
		root = "http://127.0.0.1:8080"
		if addr, ok := os.LookupEnv("CRMMOCK_ADDR"); ok && addr != "" {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return "", fmt.Errorf("CRMMOCK_ADDR=%q: %v", addr, err)
			}
			switch host {
			case "", "0.0.0.0":
				host = "127.0.0.1"
			case "::":
				host = "::1"
			}
			root = "http://" + net.JoinHostPort(host, port)
		}
	}
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url: %q: want the mock's root URL, e.g. http://127.0.0.1:8080", root)
	}
	if !strings.HasSuffix(u.Path, "/__admin/health") {
		u.Path = strings.TrimRight(u.Path, "/") + "/__admin/health"
	}
	return u.String(), nil
}

// checkHealth wants 200 and {"status":"ok"} within timeout.
func checkHealth(ctx context.Context, target string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}} // never via a proxy from the environment
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var v struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) != nil || v.Status != "ok" {
		return fmt.Errorf("answered %d %s, want 200 {\"status\":\"ok\"}", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
