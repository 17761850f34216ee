package faults

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/stretchr/testify/require"
)

// Ensure a bad body is refused with an error naming the field.
func TestParseSpecNamesTheField(t *testing.T) {
	cases := []struct{ body, field string }{
		{``, "body"},
		{`[]`, "body"},
		{`{}`, "operation"},
		{`{"operation":"GET contacts"}`, "operation"},
		{`{"operation":"authentication/token/x"}`, "operation"},
		{`{"operation":"/a/b/c"}`, "operation"},
		{`{"operation":"*","after":-1}`, "after"},
		{`{"operation":"*","times":-2}`, "times"},
		{`{"operation":"*","times":"2"}`, "times"},
		{`{"operation":"*","delay":"2 seconds"}`, "delay"},
		{`{"operation":"*","delay":"-1s"}`, "delay"},
		{`{"operation":"*","delay":2}`, "delay"},
		{`{"operation":"*","answer":{"code":"OK"}}`, "answer.code"},
		{`{"operation":"*","answer":{}}`, "answer.code"},
		{`{"operation":"*","answer":{"code":"` + strings.Repeat("X", MaxCodeLen+1) + `"}}`, "answer.code"},
		{`{"operation":"authentication/other_application_key/token"}`, "operation"},
		{`{"operation":"customer_events//create"}`, "operation"},
		{`{"operation":"*","answer":{"code":"INVALID_TOKEN","http_status":99}}`, "answer.http_status"},
		{`{"operation":"*","answer":{"code":"INVALID_TOKEN","colour":1}}`, "colour"},
		{`{"operation":"*","answer":{"code":"INVALID_TOKEN"},"drop_connection":true}`, "drop_connection"},
		{`{"operation":"*","match":{"usr":"x"}}`, "usr"},
		{`{"operation":"*","match":"x"}`, "match"},
		{`{"operation":"*","retries":3}`, "retries"},
		{`{"operation":"*"} {}`, "body"},
		// numbers an int cannot hold: encoding/json writes "number 1e2" (two words).
		{`{"operation":"*","after":1e2}`, "after"},
		{`{"operation":"*","after":99999999999999999999}`, "after"},
		{`{"operation":"*","times":1.5}`, "times"},
		{`{"operation":"*","answer":{"code":"INTERNAL_ERROR","http_status":5e2}}`, "answer.http_status"},
	}
	for _, c := range cases {
		_, err := ParseSpec([]byte(c.body))
		require.Error(t, err, c.body)
		require.Regexp(t, `^`+regexpQuote(c.field)+`: `, err.Error(), c.body)
	}
}

func regexpQuote(s string) string {
	out := ""
	for _, r := range s {
		if r == '.' || r == '*' {
			out += `\`
		}
		out += string(r)
	}
	return out
}

// Ensure a full body reads as written and defaults apply when fields are absent.
func TestParseSpecDefaults(t *testing.T) {
	s, err := ParseSpec([]byte(`{"operation":"authentication/token"}`))
	require.NoError(t, err)
	require.Equal(t, Spec{Operation: ops.UserToken}, s)
	set := New()
	f, err := set.Add(s)
	require.NoError(t, err)
	require.Equal(t, 1, f.Times)
	require.Equal(t, &Answer{Code: DefaultCode}, f.Answer)

	s, err = ParseSpec([]byte(`{"operation":"contact_information/show","match":{"user":"u","key":"k","token":"t"},
		"after":2,"times":0,"answer":{"code":"TOKEN_EXPIRED","message":"m","http_status":503},"delay":"1.5s"}`))
	require.NoError(t, err)
	require.Equal(t, Spec{Operation: "contact_information/show", Match: Match{"u", "k", "t"}, After: 2, Times: Forever,
		Answer: &Answer{"TOKEN_EXPIRED", "m", 503}, Delay: 1500 * time.Millisecond}, s)

	// A delay alone answers normally, late; a drop has no answer.
	f, err = set.Add(Spec{Operation: "*", Delay: time.Second})
	require.NoError(t, err)
	require.Nil(t, f.Answer)
	f, err = set.Add(Spec{Operation: "*", DropConnection: true})
	require.NoError(t, err)
	require.Nil(t, f.Answer)
}

// Ensure the listing's JSON is the body's shape plus id and counts (times 0 = forever).
func TestFaultJSON(t *testing.T) {
	set := New()
	_, err := set.Add(Spec{Operation: "*", Times: Forever, Delay: 2 * time.Second, Answer: &Answer{Code: "INVALID_TOKEN"}})
	require.NoError(t, err)
	raw, err := json.Marshal(set.List()[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"f1","seen":0,"fired":0,"active":true,"operation":"*","match":{},"after":0,"times":0,
		"answer":{"code":"INVALID_TOKEN"},"delay":"2s"}`, string(raw))
	spec, err := json.Marshal(set.List()[0].Spec) // a listed spec posts back as the same fault
	require.NoError(t, err)
	back, err := ParseSpec(spec)
	require.NoError(t, err)
	require.Equal(t, set.List()[0].Spec, back)
}

// Ensure after lets N matching requests through, times caps the firings, and a
// spent fault stays listed as inactive.
func TestFireAfterTimes(t *testing.T) {
	set := New()
	require.False(t, set.Armed())
	_, err := set.Add(Spec{Operation: ops.UserToken, After: 1, Times: 2})
	require.NoError(t, err)
	require.True(t, set.Armed())
	login := Request{Operation: ops.UserToken, User: "u"}
	var got []bool
	for range 5 {
		_, ok := set.Fire(login)
		got = append(got, ok)
	}
	require.Equal(t, []bool{false, true, true, false, false}, got)
	f := set.List()[0]
	require.Equal(t, 2, f.Fired)
	require.Equal(t, 3, f.Seen) // requests after it was spent are not counted
	require.False(t, f.Active)
	_, ok := set.Fire(Request{Operation: ops.KeyToken})
	require.False(t, ok)
}

// Ensure matching by operation, user, key and token, and "*" for every method.
func TestFireMatch(t *testing.T) {
	set := New()
	mustAdd := func(s Spec) string {
		f, err := set.Add(s)
		require.NoError(t, err)
		return f.ID
	}
	byUser := mustAdd(Spec{Operation: ops.UserToken, Match: Match{User: "alice"}, Times: Forever})
	byKey := mustAdd(Spec{Operation: "contacts/show", Match: Match{Key: "K1"}, Times: Forever})
	byToken := mustAdd(Spec{Operation: ops.Release, Match: Match{Token: "T1"}, Times: Forever})
	fire := func(r Request) string {
		f, _ := set.Fire(r)
		return f.ID
	}
	require.Equal(t, byUser, fire(Request{Operation: ops.UserToken, User: "alice"}))
	require.Equal(t, "", fire(Request{Operation: ops.UserToken, User: "bob"}))
	require.Equal(t, "", fire(Request{Operation: ops.KeyToken, User: "alice"}))
	require.Equal(t, byKey, fire(Request{Operation: "contacts/show", Key: "K1", Token: "T9"}))
	require.Equal(t, "", fire(Request{Operation: "contacts/show", Key: "K2"}))
	require.Equal(t, "", fire(Request{Operation: "contacts/list", Key: "K1"}))
	require.Equal(t, byToken, fire(Request{Operation: ops.Release, Token: "T1"}))
	require.Equal(t, "", fire(Request{Operation: ops.Release, Token: "T2"}))
	any := mustAdd(Spec{Operation: OpAny})
	require.Equal(t, any, fire(Request{Operation: "x/y"}))
	require.Equal(t, "", fire(Request{Operation: "x/y"}), "times defaults to 1")

	require.True(t, set.Delete(byUser))
	require.False(t, set.Delete(byUser))
	require.Equal(t, "", fire(Request{Operation: ops.UserToken, User: "alice"}))
	require.Equal(t, 3, set.Clear())
	require.False(t, set.Armed())
	id := mustAdd(Spec{Operation: OpAny})
	require.Equal(t, "f5", id, "ids are never reused")
}

// Ensure concurrent requests never fire a fault more than its times.
func TestFireConcurrent(t *testing.T) {
	set := New()
	_, err := set.Add(Spec{Operation: OpAny, After: 10, Times: 25})
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 50 {
		wg.Go(func() {
			for range 10 {
				if _, ok := set.Fire(Request{Operation: "a/b"}); ok {
					mu.Lock()
					fired++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, 25, fired)
	require.Equal(t, 25, set.List()[0].Fired)
}

// Ensure a Spec decodes from the control API's JSON with encoding/json (for Go callers
// that embed fault specs in their own documents), strictly.
func TestSpecUnmarshalJSON(t *testing.T) {
	var s Spec
	require.NoError(t, json.Unmarshal([]byte(`{"operation":"*","times":0,"delay":"250ms","drop_connection":true}`), &s))
	require.Equal(t, Spec{Operation: "*", Times: Forever, Delay: 250 * time.Millisecond, DropConnection: true}, s)
	err := json.Unmarshal([]byte(`{"operation":"*","delai":"1s"}`), &s)
	require.ErrorContains(t, err, "delai: unknown field")
}

// F21: a fault's answer.code may be any string but OK (a real installation answers codes
// such as COM.CRM.EXCEPTION.AUTH.INVALIDLOGINEXCEPTION), and the firing carries it.
// F19: a method of three segments is an operation like any other.
func TestF21AnyCodeF19NestedOperation(t *testing.T) {
	s, err := ParseSpec([]byte(`{"operation":"customer_events/purchases/create","answer":{"code":"COM.CRM.EXCEPTION.AUTH.INVALIDLOGINEXCEPTION"}}`))
	require.NoError(t, err)
	set := New()
	_, err = set.Add(s)
	require.NoError(t, err)
	_, ok := set.Fire(Request{Operation: "customer_events/purchases"})
	require.False(t, ok, "a two-segment prefix is another method")
	f, ok := set.Fire(Request{Operation: "customer_events/purchases/create"})
	require.True(t, ok)
	require.Equal(t, "COM.CRM.EXCEPTION.AUTH.INVALIDLOGINEXCEPTION", f.Answer.Code)
}
