package lint

import "fmt"

// TokenMisplaced: a method called without the token where the contract wants it,
// while an issued token came elsewhere.
var TokenMisplaced = &Rule{
	ID:       "token-misplaced",
	Severity: Error,
	Doc: `Send the token where CRM.COM reads it: the query parameter token on GET, the JSON body field token on POST.
Fires when a Web API method was called without the token in its place while a token the
mock issued came elsewhere: an Authorization header, another header, the query of a
POST or the body of a GET. CRM.COM uses no header for tokens (F5), so such a call is
answered as if no token was sent. One finding per method and place.`,
	Check: checkTokenMisplaced,
}

func checkTokenMisplaced(in *Input) []Finding {
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Misplaced == "" {
			continue
		}
		gs.note(e.Method+" "+opName(e)+"\x00"+e.Misplaced, e)
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		e := g.sample
		want := "the JSON body field token"
		if e.Method == "GET" {
			want = "the query parameter token"
		}
		out = append(out, g.finding(fmt.Sprintf(
			"%s %s was called %s with the token in the %s instead of %s (answered %s). "+
				"CRM.COM reads the token only from the query parameter token on GET and the JSON body field token on POST, never a header (F5).",
			e.Method, opName(e), times(g.count), e.Misplaced, want, e.Code)))
	}
	return out
}

// opName is an entry's method as messages name it: the operation, else the path.
func opName(e *Entry) string {
	if e.Operation != "" {
		return e.Operation
	}
	return e.Path
}
