package mockserver

import (
	"time"

	"github.com/crmmock/crmmock/internal/lint"
)

// The client lint (INTERFACE §7) lives in internal/lint; these are its public types.
type (
	// LintReport is the findings, worst first, and a count per severity.
	LintReport = lint.Report
	// LintFinding is one finding: rule, severity, message, count, first/last mock
	// time, the journal ids behind it, the token when it is about one.
	LintFinding = lint.Finding
	// LintSeverity is error, warning or info.
	LintSeverity = lint.Severity
)

// Lint judges the client's token handling on everything journaled since the last
// reset: GET /__admin/lint in Go.
func (m *Mock) Lint() LintReport { return lint.Run(m.lintInput()) }

// lintInput is the lint's plain-data view of the journal and the token store. The
// journal is read first: a token issued meanwhile is in the store without its login,
// which no rule minds.
func (m *Mock) lintInput() *lint.Input {
	rel := m.release.Load()
	in := &lint.Input{Release: rel.Name, Profile: rel.Profile.Name}
	m.journal.mu.Lock()
	j := m.journal
	in.Entries = make([]lint.Entry, len(j.entries))
	for i := range j.entries {
		in.Entries[i] = lintEntry(&j.entries[(j.next+i)%len(j.entries)])
	}
	m.journal.mu.Unlock()

	// What the journal says of each token: its login, its uses, its release.
	type seen struct {
		issue, release uint64
		releasedAt     time.Time
		principal      string
		uses           int
	}
	byToken := map[string]*seen{}
	at := func(v string) *seen {
		s := byToken[v]
		if s == nil {
			s = &seen{}
			byToken[v] = s
		}
		return s
	}
	for i := range in.Entries {
		e := &in.Entries[i]
		switch {
		case e.Issued != "":
			s := at(e.Issued)
			s.issue, s.principal = e.ID, e.Principal
		case e.Token == "" || e.Judged() != lint.CodeOK:
		case e.Operation == lint.OpRelease:
			s := at(e.Token)
			s.release, s.releasedAt = e.ID, e.Time
		default:
			at(e.Token).uses++
		}
	}

	profiles := map[string]string{} // release name → profile, parsed once per name
	recs, now := m.tokens.snapshot()
	in.Now = nanoTime(now)
	in.Tokens = make([]lint.Token, len(recs))
	for i, r := range recs {
		p, ok := profiles[r.version]
		if !ok {
			p = profileOf(r.version)
			profiles[r.version] = p
		}
		t := lint.Token{
			Value: r.value, Kind: string(r.kind), Profile: p,
			Idle: r.rule.Idle, Life: r.rule.After,
			IssuedAt: nanoTime(r.issued), ExpiresAt: nanoTime(r.expiresAt()), LastUsed: nanoTime(r.lastUsed),
			State: string(r.state(now)), Principal: "user " + r.user.username + "@" + r.user.org.name,
		}
		if s := byToken[r.value]; s != nil {
			t.IssueRequest, t.Uses, t.ReleaseRequest, t.ReleasedAt = s.issue, s.uses, s.release, s.releasedAt
			if s.principal != "" {
				t.Principal = s.principal
			}
		}
		in.Tokens[i] = t
	}
	return in
}

func lintEntry(e *JournalEntry) lint.Entry {
	return lint.Entry{
		ID: e.ID, Time: e.Time, Method: e.Method, Path: e.Path, Operation: e.Operation, Status: e.Status,
		Code: e.Code, CatalogueCode: string(e.catalogue), Description: e.Description,
		Release: e.Version, Profile: e.profile, Token: e.Token, Issued: e.Issued, Principal: e.principal,
		Misplaced: e.Misplaced, Fault: e.Fault, Violations: e.Violations,
	}
}

// profileOf is the profile of a release name the mock wrote itself.
func profileOf(version string) string {
	r, err := ParseRelease(version)
	if err != nil {
		return ""
	}
	return r.Profile.Name
}

// snapshot copies the records in issue order, and the clock, under the store's lock.
func (s *store) snapshot() ([]record, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]record, len(s.order))
	for i, r := range s.order {
		out[i] = *r
	}
	return out, s.now()
}
