package lint

import (
	"fmt"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/crmmock/crmmock/internal/wire"
)

// MethodNotInRelease: a method the emulated release lacks was called.
var MethodNotInRelease = &Rule{
	ID:       "method-not-in-release",
	Severity: Warning,
	Doc: `Call only the methods the installation's release has: the client called one it lacks.
Fires for every request answered METHOD_NOT_AVAILABLE (HTTP 404): authentication/web_api_key/token
or authentication/token/release before R10.0.0 (F7, F8), access_tokens/generate_otp before
R13.0.0 (F17), the consumer and device application key logins before R15.0.0 (F15, F18). One finding per method and
release. Check the release of the installation the client targets, or fall back to
authentication/token (and to letting tokens expire) on older ones.`,
	Check: checkMethodNotInRelease,
}

// since says from which release a method exists, for the message (the rule itself is
// the mock's release table: it answered METHOD_NOT_AVAILABLE).
var since = map[string]string{
	ops.KeyToken:      "CRM.COM has it from R10.0.0 (F7); before that, log in with authentication/token",
	ops.Release:       "CRM.COM has it from R10.0.0 (F8); before that, tokens end only by their idle hour (F6)",
	ops.GenerateOTP:   "CRM.COM has it from R13.0.0 (F17), deprecated from R18.0.0",
	ops.ConsumerToken: "CRM.COM has it from R15.0.0 (F15); before that, log the access token in with authentication/token (F12)",
	ops.DeviceToken:   "CRM.COM has it from R15.0.0 (F18)",
}

func checkMethodNotInRelease(in *Input) []Finding {
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Judged() != wire.CodeNotAvailable || e.Fault != "" { // a fault's answer says nothing of the release
			continue
		}
		gs.note(opName(e)+"\x00"+e.Release, e)
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		e := g.sample
		why, ok := since[e.Operation]
		if !ok {
			why = e.Description
		}
		out = append(out, g.finding(fmt.Sprintf(
			"%s was called %s on %s, which lacks it (answered %s, HTTP %d): %s.",
			opName(e), times(g.count), e.Release, e.Code, e.Status, why)))
	}
	return out
}
