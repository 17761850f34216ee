package crmmock_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	crmmock "github.com/crmmock/crmmock/testcontainers"
)

// image is the crmmock image under test: $CRMMOCK_IMAGE, else crmmock:dev (make image).
func image() string {
	if img := os.Getenv("CRMMOCK_IMAGE"); img != "" {
		return img
	}
	return "crmmock:dev"
}

// needDocker skips the test when no Docker API answers (DOCKER_HOST, e.g. podman's
// socket started by `make testcontainers`), and fails it instead on CI=true.
func needDocker(t *testing.T) {
	t.Helper()
	p, err := testcontainers.NewDockerProvider()
	if err == nil {
		defer p.Close()
		err = p.Health(context.Background())
	}
	if err != nil {
		const hint = "no Docker API (run `make testcontainers`, which starts podman's Docker-compatible socket; or set DOCKER_HOST)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v", hint, err)
		}
		t.Skipf("%s: %v", hint, err)
	}
}

func run(t *testing.T, opts ...testcontainers.ContainerCustomizer) *crmmock.Container {
	t.Helper()
	needDocker(t)
	ctr, err := crmmock.Run(context.Background(), image(), opts...)
	testcontainers.CleanupContainer(t, ctr)
	require.NoError(t, err)
	return ctr
}

// answer is the Web API envelope.
type answer struct {
	Status struct{ Code string }
	Data   struct{ Token string }
}

func login(t *testing.T, base, body string) answer {
	t.Helper()
	resp, err := http.Post(base+"/authentication/token", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return a
}

func show(t *testing.T, base, token string) string {
	t.Helper()
	resp, err := http.Get(base + "/contact_information/show?number=CI000111&token=" + url.QueryEscape(token))
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return a.Status.Code
}

const admin = `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`

// Ensure Run starts the image on the release and clock asked for, with the control API
// behind the admin token the helpers send, and that Advance and Lint drive it.
func TestF6RunReleaseClockAdminToken(t *testing.T) {
	start := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	ctr := run(t, crmmock.WithRelease("R10"), crmmock.WithClockStart(start), crmmock.WithAdminToken("s3cret"))
	ctx := context.Background()

	now, err := ctr.Now(ctx)
	require.NoError(t, err)
	assert.Equal(t, start, now)
	adminURL, err := ctr.AdminURL(ctx)
	require.NoError(t, err)
	resp, err := http.Get(adminURL + "/clock")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the control API needs the admin token")

	base, err := ctr.BaseURL(ctx)
	require.NoError(t, err)
	a := login(t, base, admin)
	require.Equal(t, "OK", a.Status.Code)
	assert.Regexp(t, `^[0-9A-F]{32}$`, a.Data.Token, "F6: R10 issues opaque 32-hex tokens")
	assert.Equal(t, "OK", show(t, base, a.Data.Token))

	// F6: an hour of idle time kills an R10 token; a minute less does not.
	require.NoError(t, ctr.Advance(ctx, 59*time.Minute))
	assert.Equal(t, "OK", show(t, base, a.Data.Token))
	require.NoError(t, ctr.Advance(ctx, 61*time.Minute))
	assert.Equal(t, "TOKEN_EXPIRED", show(t, base, a.Data.Token))
	now, err = ctr.Now(ctx)
	require.NoError(t, err)
	assert.Equal(t, start.Add(2*time.Hour), now)

	report, err := ctr.Lint(ctx)
	require.NoError(t, err)
	assert.Zero(t, report.Summary.Error, "one expired answer, not reused: %+v", report.Findings)
	// Presenting the dead token again is what the lint calls an error.
	assert.Equal(t, "TOKEN_EXPIRED", show(t, base, a.Data.Token))
	report, err = ctr.Lint(ctx)
	require.NoError(t, err)
	var rules []string
	for _, f := range report.Findings {
		rules = append(rules, f.Rule)
	}
	assert.Contains(t, rules, "expired-token-reused")
	assert.Positive(t, report.Summary.Error)

	require.NoError(t, ctr.Reset(ctx))
	report, err = ctr.Lint(ctx)
	require.NoError(t, err)
	assert.Empty(t, report.Findings, "reset forgets the journal")
}

// Ensure WithScenario and WithScenarioFile replace the built-in fixtures.
func TestRunScenario(t *testing.T) {
	data, err := os.ReadFile("testdata/acme.yaml")
	require.NoError(t, err)
	for name, opt := range map[string]crmmock.Option{
		"bytes": crmmock.WithScenario(data),
		"file":  crmmock.WithScenarioFile("testdata/acme.yaml"),
	} {
		t.Run(name, func(t *testing.T) {
			ctr := run(t, opt)
			base, err := ctr.BaseURL(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "OK", login(t, base, `{"username":"bob","password":"pw","organisation":"ACME"}`).Status.Code)
			assert.Equal(t, "INVALID_ORGANISATION", login(t, base, admin).Status.Code, "the default fixtures are gone")
		})
	}
	_, err = crmmock.Run(context.Background(), image(), crmmock.WithScenarioFile("testdata/missing.yaml"))
	assert.ErrorContains(t, err, "missing.yaml")
}

// Ensure a sandbox has its own release and clock: an R12 JWT in the sandbox (F9), the
// root still R12 by default but its clock untouched by the sandbox's advance.
func TestF9NewSandbox(t *testing.T) {
	ctr := run(t, crmmock.WithAdminToken("s3cret"))
	ctx := context.Background()
	rootStart, err := ctr.Now(ctx)
	require.NoError(t, err)

	sb, err := ctr.NewSandbox(ctx, crmmock.SandboxOptions{Release: "R10", Start: time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, "R10", sb.Release)
	a := login(t, sb.BaseURL, admin)
	assert.Regexp(t, `^[0-9A-F]{32}$`, a.Data.Token, "F6: the sandbox is R10")
	require.NoError(t, sb.Advance(ctx, 61*time.Minute))
	assert.Equal(t, "TOKEN_EXPIRED", show(t, sb.BaseURL, a.Data.Token), "F6: the sandbox's clock moved")
	now, err := sb.Now(ctx)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2024, 1, 1, 10, 1, 0, 0, time.UTC), now)

	base, err := ctr.BaseURL(ctx)
	require.NoError(t, err)
	root := login(t, base, admin)
	assert.Greater(t, len(root.Data.Token), 32, "F9: the root is R12 (JWT)")
	assert.Equal(t, "INVALID_TOKEN", show(t, base, a.Data.Token), "a sandbox's token is unknown at the root")
	rootNow, err := ctr.Now(ctx)
	require.NoError(t, err)
	assert.Equal(t, rootStart, rootNow, "the root's clock did not move")

	report, err := sb.Lint(ctx)
	require.NoError(t, err)
	assert.Zero(t, report.Summary.Error, "%+v", report.Findings)

	_, err = ctr.NewSandbox(ctx, crmmock.SandboxOptions{Release: "R99x"})
	assert.ErrorContains(t, err, "400")
}
