package lint

import (
	"fmt"
	"strconv"

	"github.com/crmmock/crmmock/internal/wire"
)

// MessageAsToken: the client presented, as its token, an error text the mock answered.
var MessageAsToken = &Rule{
	ID:       "message-as-token",
	Severity: Error,
	Doc: `Check status.code before keeping a token: the client sent an error text the mock answered as its token.
Fires when a presented token is exactly the status.message or status.description of an
earlier answer: a client that, when its login fails, returns the error message instead
of data.token (a public PHP client does, F20) and then calls every method with it. Keep
data.token only when status.code is OK; on an error, report it or log in again. A token
that merely contains a word of a message, or a text the mock never answered, is not this.`,
	Check: checkMessageAsToken,
}

// quoteLimit cuts a quoted text in messages.
const quoteLimit = 80

func checkMessageAsToken(in *Input) []Finding {
	// A message is never a token the mock accepts: only rejected presentations are
	// candidates, and only answered texts equal to one are kept.
	var candidates map[string]bool
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Token != "" && e.Judged() != wire.CodeOK {
			if candidates == nil {
				candidates = map[string]bool{}
			}
			candidates[e.Token] = true
		}
	}
	if candidates == nil {
		return nil
	}
	type answered struct {
		entry *Entry
		field string // status.message or status.description
	}
	said := map[string]answered{} // text → the first answer that said it
	type presented struct {
		text string
		from answered
		g    group
	}
	var found []*presented
	byText := map[string]*presented{}
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Judged() == wire.CodeOK { // no message, no description; a message is never accepted as a token
			continue
		}
		if a, ok := said[e.Token]; ok && e.Token != "" {
			p := byText[e.Token]
			if p == nil {
				p = &presented{text: e.Token, from: a}
				byText[e.Token] = p
				found = append(found, p)
			}
			p.g.add(e.ID, e.Time)
		}
		for _, f := range [...]struct{ field, text string }{{"status.message", e.Message}, {"status.description", e.Description}} {
			if _, ok := said[f.text]; !ok && candidates[f.text] {
				said[f.text] = answered{e, f.field}
			}
		}
	}
	out := make([]Finding, 0, len(found))
	for _, p := range found {
		src := p.from.entry
		op := src.Operation
		if op == "" {
			op = src.Path
		}
		out = append(out, p.g.finding(fmt.Sprintf(
			"The client presented %s as its token (%s): that is the %s the mock answered to request %d (%s, %s). "+
				"It keeps the error text of a failed call where the token belongs; keep data.token only when status.code is OK, and on an error report it or log in again.",
			quote(p.text), times(p.g.count), p.from.field, src.ID, src.Code, op)))
	}
	return out
}

// quote is a text as messages quote it, cut at quoteLimit characters.
func quote(s string) string {
	if r := []rune(s); len(r) > quoteLimit {
		s = string(r[:quoteLimit]) + "…"
	}
	return strconv.Quote(s)
}
