package mockserver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// defaultOTPLife is how long a one-time password is valid (assumed: F17 gives no
// lifetime; scenario otp.lifetime changes it).
const defaultOTPLife = 10 * time.Minute

var otpPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{6}$`) })

// compileCustomers checks and indexes an organisation's access tokens, consumer
// application keys, installed items and identity provider (F12, F15-F18): duplicates
// and dangling user references are errors naming the line.
func compileCustomers(w *world, g *org, o Organisation, root *yaml.Node, at func(p ...any) []any) error {
	if err := compileAccessTokens(g, o, root, at); err != nil {
		return err
	}
	for i, k := range o.ConsumerApplicationKeys {
		if k.Key == "" {
			return lineErr(root, "consumer application key without a key in organisation %q", o.Name)(at("consumer_application_keys", i)...)
		}
		if _, dup := w.consumerKeys[k.Key]; dup {
			return lineErr(root, "duplicate consumer application key")(at("consumer_application_keys", i, "key")...)
		}
		w.consumerKeys[k.Key] = &consumerKey{key: k.Key, org: g}
	}
	for i, it := range o.InstalledItems {
		if it.Identifier == "" {
			return lineErr(root, "installed item without an identifier in organisation %q", o.Name)(at("installed_items", i)...)
		}
		if _, dup := w.items[it.Identifier]; dup {
			return lineErr(root, "duplicate installed item %q", it.Identifier)(at("installed_items", i, "identifier")...)
		}
		u, ok := g.users[it.User]
		if !ok {
			return lineErr(root, "installed item %q names user %q, who is not a user of organisation %q", it.Identifier, it.User, o.Name)(at("installed_items", i, "user")...)
		}
		w.items[it.Identifier] = &installedItem{identifier: it.Identifier, user: u}
	}
	if p := o.IdentityProvider; p != nil && p.Secret == "" {
		return lineErr(root, "identity_provider of organisation %q has no secret", o.Name)(at("identity_provider")...)
	}
	return nil
}

// compileAccessTokens adds an organisation's access tokens to g: each with an
// authentication_code or identifier (and then a pass_code), a known user, a stable id
// and number, none twice.
func compileAccessTokens(g *org, o Organisation, root *yaml.Node, at func(p ...any) []any) error {
	for i, t := range o.AccessTokens {
		where := func(p ...any) []any { return at(append([]any{"access_tokens", i}, p...)...) }
		if t.AuthenticationCode == "" && t.Identifier == "" {
			return lineErr(root, "access token without an authentication_code or an identifier in organisation %q", o.Name)(where()...)
		}
		if t.Identifier != "" && t.PassCode == "" {
			return lineErr(root, "access token %q has an identifier but no pass_code", t.Identifier)(where("identifier")...)
		}
		u, ok := g.users[t.User]
		if !ok {
			return lineErr(root, "access token names user %q, who is not a user of organisation %q", t.User, o.Name)(where("user")...)
		}
		x := &accessToken{id: t.ID, number: t.Number, code: t.AuthenticationCode, identifier: t.Identifier, passCode: t.PassCode,
			user: u, contact: t.Contact, receivable: t.AccountsReceivable}
		if x.id == "" { // 32 uppercase hex, as the docs' example id, stable across loads
			sum := sha256.Sum256([]byte(o.Name + "\x00" + t.Identifier + "\x00" + t.AuthenticationCode))
			x.id = strings.ToUpper(hex.EncodeToString(sum[:16]))
		}
		if x.number == "" {
			x.number = fmt.Sprintf("AT%010d", i+1)
		}
		if t.AuthenticationCode != "" {
			if _, dup := g.byCode[t.AuthenticationCode]; dup {
				return lineErr(root, "duplicate access token authentication_code in organisation %q", o.Name)(where("authentication_code")...)
			}
			g.byCode[t.AuthenticationCode] = x
		}
		if t.Identifier != "" {
			if _, dup := g.byIdentifier[t.Identifier]; dup {
				return lineErr(root, "duplicate access token identifier %q in organisation %q", t.Identifier, o.Name)(where("identifier")...)
			}
			g.byIdentifier[t.Identifier] = x
		}
	}
	return nil
}
