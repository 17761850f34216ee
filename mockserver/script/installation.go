package script

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// Installation translates a script's expectations into a real installation's terms,
// from a scenario crmmock probe learned of it (`crmmock run --target URL --scenario
// learned.yaml`): the catalogue's codes become the installation's, and so do the HTTP
// status of its errors, its JWTs' lifetime and its oun. A script then fails on a real
// target for behaviour, not for naming.
type Installation struct {
	// Codes: a catalogue code → the codes the installation answers for it (one per
	// failure class of that code, as the scenario's errors say).
	Codes map[string][]string
	// HTTP: a catalogue code → the HTTP statuses of the installation's errors of it.
	HTTP map[string][]int
	// Lifetime is the installation's JWT exp - iat, in seconds; 0: as the script says.
	Lifetime int64
	// OUN is the oun claim of the installation's tokens; "": as the script says.
	OUN string
	// Release is the installation's release as learned; "": as the script is taken to run.
	Release string
	// Opaque is a regular expression of the installation's opaque tokens, for the
	// scripts' ^[0-9A-F]{32}$ (F6); "": as the script says.
	Opaque string
}

// defaultOpaque is how the scripts expect an opaque token (F6).
const defaultOpaque = `^[0-9A-F]{32}$`

// NewInstallation reads the translation out of a learned scenario.
func NewInstallation(sc *mockserver.Scenario) *Installation {
	in := &Installation{Codes: map[string][]string{}, HTTP: map[string][]int{}}
	add := func(code string, o mockserver.ErrorOverride) {
		if o.Code != "" && !slices.Contains(in.Codes[code], o.Code) {
			in.Codes[code] = append(in.Codes[code], o.Code)
		}
		if o.HTTPStatus != 0 && !slices.Contains(in.HTTP[code], o.HTTPStatus) {
			in.HTTP[code] = append(in.HTTP[code], o.HTTPStatus)
		}
	}
	for k, o := range sc.Errors {
		if code, ok := mockserver.ClassCode(mockserver.Class(k)); ok {
			add(string(code), o)
		} else {
			add(string(k), o)
		}
	}
	in.Release = sc.Version
	if sc.JWT.Lifetime > 0 {
		in.Lifetime = int64(time.Duration(sc.JWT.Lifetime) / time.Second)
	}
	if t := sc.Token; t.OpaqueLength != 0 || t.Alphabet != "" {
		n, alpha := t.OpaqueLength, t.Alphabet
		if n == 0 {
			n = 32
		}
		if alpha == "" {
			alpha = "0-9A-F"
		}
		class := strings.NewReplacer(`\`, `\\`, `]`, `\]`, `[`, `\[`, `^`, `\^`).Replace(alpha)
		if re := fmt.Sprintf("^[%s]{%d}$", class, n); validRegexp(re) {
			in.Opaque = re
		}
	}
	if len(sc.Organisations) > 0 && len(sc.Organisations[0].Units) > 0 {
		in.OUN = sc.Organisations[0].Units[0].OUN
	}
	return in
}

// code tells whether got is what the installation answers for the catalogue code want.
func (in *Installation) code(want, got string) bool {
	if in == nil || len(in.Codes[want]) == 0 {
		return got == want
	}
	return slices.Contains(in.Codes[want], got)
}

// status tells whether got is the HTTP status the installation answers for an error of
// the catalogue code (or, without one, the script's want).
func (in *Installation) status(code string, want, got int) bool {
	if in == nil || code == "" || len(in.HTTP[code]) == 0 {
		return got == want
	}
	return slices.Contains(in.HTTP[code], got)
}

// showCodes is an expected code as a failure shows it: with the installation's names.
func showCodes(want string, in *Installation) string {
	if in == nil || len(in.Codes[want]) == 0 {
		return show(want)
	}
	s := show(want) + " (here"
	for i, c := range in.Codes[want] {
		if i > 0 {
			s += " or"
		}
		s += " " + show(c)
	}
	return s + ")"
}

func validRegexp(s string) bool { _, err := regexp.Compile(s); return err == nil }
