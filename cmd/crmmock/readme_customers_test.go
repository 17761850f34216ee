// Cross-cutting suite (keeps its name): the customer-login curl lines of docs/web-api.md run as written.

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Ensure the customer-login curl lines of docs/web-api.md run as written against
// `crmmock serve --release R16.2`: a consumer token from an authentication code, from
// an OTP generated a moment before and from the identity-provider JWT the doc gives
// (F15, F16, F17), a device token (F18); on R14 the consumer calls answer HTTP 404
// METHOD_NOT_AVAILABLE, on R18 generate_otp carries Deprecation: true.
func TestReadmeCustomerLogins(t *testing.T) {
	_, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is missing (.ci/run installs it)")
		}
		t.Skip("curl is not installed")
	}
	data, err := os.ReadFile("../../docs/web-api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- curl-example: customers -->\n```sh\n")
	if !ok {
		t.Fatal("docs/web-api.md has no curl-example customers")
	}
	block, _, _ := strings.Cut(rest, "```\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, done := serveInProcess(t, ctx, "--release", "R16.2", "--addr", "127.0.0.1:0", "--log-level", "error")
	script := "set -eu -o pipefail\n" + strings.ReplaceAll(block, "http://127.0.0.1:8080", root)
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("the commands of docs/web-api.md failed: %v\n%s", err, out)
	}
	text := string(out)

	tokens := regexp.MustCompile(`"code":"OK","message":"","description":""},"data":\{"token":"([^"]+)"\}`).FindAllStringSubmatch(text, -1)
	if len(tokens) != 4 {
		t.Fatalf("want 4 tokens (3 consumer, 1 device), got %d in:\n%s", len(tokens), text)
	}
	for i, m := range tokens[:3] {
		parts := strings.Split(m[1], ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil || claims["cii"] != "CI000111" || claims["acr"] != "AR000222" {
			t.Errorf("consumer token %d: F16 claims cii and acr missing: %s", i+1, raw)
		}
	}
	if n := strings.Count(text, "HTTP/1.1 404 Not Found"); n != 2 {
		t.Errorf("want 2 answers HTTP 404 on R14, got %d:\n%s", n, text)
	}
	if n := strings.Count(text, `"code":"METHOD_NOT_AVAILABLE"`); n != 2 {
		t.Errorf("want 2 METHOD_NOT_AVAILABLE on R14, got %d:\n%s", n, text)
	}
	if !regexp.MustCompile(`(?im)^deprecation: true\r?$`).MatchString(text) {
		t.Errorf("want Deprecation: true from generate_otp on R18:\n%s", text)
	}
	cancel()
	<-done
}
