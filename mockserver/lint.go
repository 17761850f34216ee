package mockserver

import (
	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/lint"
)

// The client lint (docs/lint.md) lives in internal/lint; these are its public types.
type (
	// LintReport is the findings, worst first, and a count per severity.
	LintReport = lint.Report
	// LintFinding is one finding: rule, severity, message, count, first/last mock
	// time, the journal ids behind it, the token when it is about one.
	LintFinding = lint.Finding
	// LintSeverity is error, warning or info.
	LintSeverity = lint.Severity
)

// The lint's severities, worst first: rep.Fails(mockserver.LintWarning) is true when a
// finding at warning or worse exists.
const (
	LintError   = lint.Error
	LintWarning = lint.Warning
	LintInfo    = lint.Info
)

// Lint judges the client's token handling on everything journaled since the last
// reset: GET /__admin/lint in Go.
func (m *Mock) Lint() LintReport { return lint.Run(m.lintInput()) }

// lintInput is the lint's plain-data view of the journal and the token store. The
// journal is read first: a token issued meanwhile is in the store without its login,
// which no rule minds.
func (m *Mock) lintInput() *lint.Input {
	rel := m.snap.Load().rel
	in := &lint.Input{Release: rel.Name, Profile: rel.Profile.Name}
	known := map[uint64]string{} // login id → the token it issued
	in.Entries = journal.Select(m.journal, journal.Filter{}, lintEntry)
	for i := range in.Entries {
		if e := &in.Entries[i]; e.Issued != "" {
			known[e.ID] = e.Issued
		}
	}
	in.Tokens = m.tokens.LintTokens(known)
	in.Now = m.clock.Now()
	return in
}

func lintEntry(e *journal.Entry) lint.Entry {
	le := lint.Entry{
		ID: e.ID, Time: e.Time, Method: e.Method, Path: e.Path, Operation: e.Operation, Status: e.Status,
		Code: e.Code, CatalogueCode: e.Catalogue, Message: e.Message, Description: e.Description,
		Release: e.Version, Profile: e.Profile, Token: e.Token, Issued: e.Issued, Principal: e.Principal,
		Misplaced: e.Misplaced, Violations: e.Violations, Lenient: e.Lenient,
	}
	if e.Injected { // the lint's Fault is a fault that answered; one that only delayed changed nothing
		le.Fault = e.Fault
	}
	return le
}
