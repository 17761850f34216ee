package mockserver

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mutateAll changes every settable value reachable from v (following pointers, slices
// and maps), so that a test can show nothing it reaches is shared.
func mutateAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			mutateAll(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			mutateAll(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			mutateAll(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutateAll(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + "-mutated")
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.CanSet() {
			v.SetInt(v.Int() + 7)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.CanSet() {
			v.SetUint(v.Uint() + 7)
		}
	}
}

// Ensure a release travels by value: changing everything reachable from one mock's
// Version() (its profile's rules among it) leaves that mock, a second mock and
// MustParseRelease as they were, and the second mock's tokens keep their rule (F6: an
// R10 user token dies after one idle hour).
func TestReleaseIsAValue(t *testing.T) {
	want := MustParseRelease("R10")
	first := startVersion(t, "R10")
	second := startVersion(t, "R10")

	v := first.Version()
	mutateAll(reflect.ValueOf(&v))
	require.NotEqual(t, want, v, "the mutation changed the copy")

	assert.Equal(t, want, first.Version(), "the first mock's release")
	assert.Equal(t, want, second.Version(), "the second mock's release")
	assert.Equal(t, want, MustParseRelease("R10"), "MustParseRelease")
	assert.Equal(t, time.Hour, MustParseRelease("R10").Profile.UserRule.After)

	// F6: on the second mock a user token still dies after exactly one idle hour.
	tok := second.login()
	second.advance(time.Hour - time.Second)
	assert.Equal(t, "OK", second.code(second.use(tok)))
	second.advance(time.Hour)
	assert.Equal(t, "TOKEN_EXPIRED", second.code(second.use(tok)))
}

// Ensure a request is journaled and linted under the release it was answered under:
// a token/release held by a delay fault on R12 (F8: deprecated from R12.0.0) while the
// release is switched to R10 answers with Deprecation: true, its journal entry says R12,
// and the lint's deprecated-release-used counts it.
func TestReleaseSwitchDuringDelayKeepsAnsweredRelease(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R12", WallClock: wall})
	tok := h.login()
	h.addFault(`{"operation":"authentication/token/release","delay":"1h"}`)

	done := make(chan reply, 1)
	go func() { done <- h.post("authentication/token/release", map[string]string{"token": tok}) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 1), "the release waits on its delay")
	_, err := h.SetVersion("R10")
	require.NoError(t, err)
	wall.Advance(time.Hour)
	r := <-done

	assert.Equal(t, "OK", h.code(r), "%s", r.Raw)
	assert.Equal(t, "true", r.Header.Get("Deprecation"), "F8: answered under R12")
	j := h.Journal()
	last := j[len(j)-1]
	assert.Equal(t, "authentication/token/release", last.Operation)
	assert.Equal(t, "R12", last.Version, "the journal names the release the request was answered under")
	assert.NotEmpty(t, last.Fault)
	f := findings(h.lintReport(), "deprecated-release-used")
	require.Len(t, f, 1, "the lint judges the release the request was answered under")
	assert.Contains(t, f[0].Message, "on R12")
	assert.Equal(t, "R10", h.Version().Name, "the switch itself took effect")

	// A later release on R10 is no deprecated call.
	tok = h.login()
	r = h.post("authentication/token/release", map[string]string{"token": tok})
	assert.Equal(t, "OK", h.code(r))
	assert.Empty(t, r.Header.Get("Deprecation"))
	assert.Equal(t, http.StatusOK, r.HTTP)
	require.Len(t, findings(h.lintReport(), "deprecated-release-used"), 1)
	assert.Equal(t, 1, findings(h.lintReport(), "deprecated-release-used")[0].Count)
}

// Ensure a logger whose handler adds the source (slog's AddSource) gets it on the
// request line as on the mock's other lines, as when the line was logged through
// LogAttrs: the mock's function that logged it.
func TestRequestLogLineHasASourceForAHandlerThatAddsIt(t *testing.T) {
	var buf bytes.Buffer
	h := start(t, Options{Version: "R10", Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{AddSource: true}))})
	h.login()
	h.Reset()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "%s", buf.String())
	assert.Contains(t, lines[0], "msg=request")
	assert.Regexp(t, `source=\S*/mockserver/webapi\.go:\d+ `, lines[0])
	assert.Contains(t, lines[1], "msg=reset")
	assert.Regexp(t, `source=\S*/mockserver/\w+\.go:\d+ `, lines[1])
}

// Ensure the info log has one line per Web API request (method, path, code, reason,
// mock time, a short token id that differs between JWTs), plus clock moves, release
// switches, scenario swaps and resets; at warn only contract violations remain.
func TestLogLines(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		var buf bytes.Buffer
		h := start(t, Options{Version: "R12", Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))})
		a := h.login()
		b := h.login()
		h.advance(2 * time.Hour)
		h.use(a)
		h.get("contact_information/show", nil) // violation: no token
		_, _ = h.SetVersion("R10")
		require.NoError(t, h.SetScenario(DefaultScenario()))
		h.Reset()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if level == slog.LevelWarn {
			require.Len(t, lines, 1, "%s", buf.String())
			assert.Contains(t, lines[0], "level=WARN")
			assert.Contains(t, lines[0], "contract violation")
			continue
		}
		require.Len(t, lines, 8, "%s", buf.String())
		assert.Contains(t, lines[0], `msg=request`)
		assert.Contains(t, lines[0], `code=OK`)
		assert.Contains(t, lines[0], "path=/crmapi/rest/v2/authentication/token")
		assert.Contains(t, lines[0], "mock_time=2024-01-01T09:00:00Z")
		assert.Contains(t, lines[0], "token=…"+a[len(a)-8:])
		assert.Contains(t, lines[1], "token=…"+b[len(b)-8:])
		assert.NotEqual(t, a[len(a)-8:], b[len(b)-8:])
		assert.Contains(t, lines[2], "clock advanced")
		assert.Contains(t, lines[3], "code=TOKEN_EXPIRED")
		assert.Contains(t, lines[3], `reason="token: expired at 2024-01-01T11:00:00Z`)
		assert.Contains(t, lines[3], "mock_time=2024-01-01T11:00:00Z")
		assert.Contains(t, lines[4], "level=WARN")
		assert.Contains(t, lines[5], "release switched")
		assert.Contains(t, lines[6], "scenario replaced")
		assert.Contains(t, lines[7], "msg=reset")
		assert.NotContains(t, buf.String(), docPass)
	}
}
