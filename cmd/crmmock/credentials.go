package main

import (
	"flag"
	"os"

	"github.com/crmmock/crmmock/internal/probe"
)

// credentialFlags are the credential flags of probe, verify and run, each with the
// variable it stands in for (the scripts read the variables; a flag wins over one).
var credentialFlags = []struct {
	name, env, usage, note string
	field                  func(*probe.Credentials) *string
}{
	{"user", "CRM_USERNAME", "the user name to log in with", "", func(c *probe.Credentials) *string { return &c.User }},
	{"password", "CRM_PASSWORD", "the user's password", "; the variable keeps it out of shell history", func(c *probe.Credentials) *string { return &c.Password }},
	{"organisation", "CRM_ORGANISATION", "the user's organisation", "", func(c *probe.Credentials) *string { return &c.Organisation }},
	{"unit", "CRM_UNIT", "the unit to log in to", "; default: the user's", func(c *probe.Credentials) *string { return &c.Unit }},
	{"key", "CRM_WEB_API_KEY", "a Web API key", "", func(c *probe.Credentials) *string { return &c.Key }},
}

// bindCredentials binds the credential flags to c; prefix opens each usage line.
func bindCredentials(fs *flag.FlagSet, c *probe.Credentials, prefix string) {
	for _, f := range credentialFlags {
		fs.StringVar(f.field(c), f.name, "", prefix+f.usage+" (else "+f.env+f.note+")")
	}
}

// credentialEnv is the environment the scripts read, with the credentials given as
// flags over the CRM_* variables.
func credentialEnv(c probe.Credentials) func(string) (string, bool) {
	return func(k string) (string, bool) {
		for _, f := range credentialFlags {
			if f.env == k && *f.field(&c) != "" {
				return *f.field(&c), true
			}
		}
		return os.LookupEnv(k)
	}
}

// fillFromEnv sets each credential no flag gave from its variable.
func fillFromEnv(c *probe.Credentials) {
	for _, f := range credentialFlags {
		if v := f.field(c); *v == "" {
			*v = os.Getenv(f.env)
		}
	}
}
