package mockserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TokenFormat is the shape of the tokens a release issues.
type TokenFormat string

const (
	// FormatOpaque is 32 uppercase hex characters (F6).
	FormatOpaque TokenFormat = "opaque"
	// FormatJWT is an HS256 JWT (F9, F10).
	FormatJWT TokenFormat = "jwt"
)

// ExpiryRule says how a token dies.
type ExpiryRule struct {
	// Idle: the token is live while now < last use + After.
	// Otherwise (absolute): live while now < issue + After.
	Idle  bool
	After time.Duration
}

func (r ExpiryRule) String() string {
	if r.Idle {
		return fmt.Sprintf("%s idle", r.After)
	}
	return fmt.Sprintf("%s after issue", r.After)
}

var (
	idleHour      = ExpiryRule{Idle: true, After: time.Hour}
	twoHoursFixed = ExpiryRule{After: 2 * time.Hour}
)

// Availability of a Web API method in a release.
type Availability int

const (
	Available Availability = iota
	NotAvailable
	Deprecated // available, answered with Deprecation: true
)

// Profile is the set of token rules of one range of CRM.COM releases.
type Profile struct {
	Name      string // "pre-R10", "R10", "R12"
	FromMajor int    // first release major the profile covers
	Format    TokenFormat
	UserRule  ExpiryRule // authentication/token
	KeyRule   ExpiryRule // authentication/web_api_key/token
	KeyToken  Availability
	Release   Availability
}

// profiles is the release table: every difference between releases lives here, as data.
// Sorted by FromMajor; a release uses the last row whose FromMajor it has reached.
var profiles = []Profile{
	// F6: user tokens die after one idle hour; F7/F8: no keys, no release before R10.
	{Name: "pre-R10", FromMajor: 0, Format: FormatOpaque, UserRule: idleHour, KeyRule: twoHoursFixed, KeyToken: NotAvailable, Release: NotAvailable},
	// F7: key tokens from R10.0.0 die two hours after issue; F8: release from R10.0.0.
	{Name: "R10", FromMajor: 10, Format: FormatOpaque, UserRule: idleHour, KeyRule: twoHoursFixed, KeyToken: Available, Release: Available},
	// F9/F10: from R12.0.0 every token is a JWT dying two hours after issue; F8: release deprecated.
	{Name: "R12", FromMajor: 12, Format: FormatJWT, UserRule: twoHoursFixed, KeyRule: twoHoursFixed, KeyToken: Available, Release: Deprecated},
}

// Release is a parsed CRM.COM release name. It is a plain value: its profile is a copy
// of the table's row, so changing a Release (say, Mock.Version's) changes nothing else.
type Release struct {
	Name    string // canonical: "pre-R10", "R9", "R10", "R10.0.0", "R12"
	Major   int
	Profile Profile
}

func (r Release) String() string { return r.Name }

// ParseRelease reads "pre-R10", "R<n>", or "R<n>.<m>.<p>" (F11), case-insensitively.
func ParseRelease(s string) (Release, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "pre-R10") {
		return Release{Name: "pre-R10", Major: 9, Profile: profileFor(9)}, nil
	}
	bad := fmt.Errorf("unknown release %q: want pre-R10, R<n> or R<n>.<m>.<p> (e.g. R9, R10, R12.0.0)", s)
	if len(t) < 2 || (t[0] != 'R' && t[0] != 'r') {
		return Release{}, bad
	}
	parts := strings.Split(t[1:], ".")
	if len(parts) != 1 && len(parts) != 3 {
		return Release{}, bad
	}
	nums := make([]string, len(parts))
	major := 0
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 9999 || p == "" || p[0] == '+' || p[0] == '-' {
			return Release{}, bad
		}
		if i == 0 {
			major = n
		}
		nums[i] = strconv.Itoa(n)
	}
	if major < 1 {
		return Release{}, bad
	}
	return Release{Name: "R" + strings.Join(nums, "."), Major: major, Profile: profileFor(major)}, nil
}

// MustParseRelease is ParseRelease for constants in tests; it panics on a bad name.
func MustParseRelease(s string) Release {
	r, err := ParseRelease(s)
	if err != nil {
		panic(err)
	}
	return r
}

// profileFor is a copy of the table's row for a release major: never a pointer into
// the table, which every mock and MustParseRelease share.
func profileFor(major int) Profile {
	p := profiles[0]
	for _, row := range profiles {
		if major >= row.FromMajor {
			p = row
		}
	}
	return p
}
