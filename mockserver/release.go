package mockserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmmock/crmmock/internal/tokens"
	"github.com/crmmock/crmmock/internal/wire"
)

// TokenFormat is the shape of the tokens a release issues.
type TokenFormat string

const (
	// FormatOpaque is 32 uppercase hex characters (F6).
	FormatOpaque TokenFormat = "opaque"
	// FormatJWT is an HS256 JWT (F9, F10).
	FormatJWT TokenFormat = "jwt"
)

// ExpiryRule says how a token dies: Idle, live while now < last use + After;
// otherwise (absolute) live while now < issue + After.
type ExpiryRule = tokens.Rule

var (
	idleHour      = ExpiryRule{Idle: true, After: time.Hour}
	twoHoursFixed = ExpiryRule{After: 2 * time.Hour}
)

// Availability of a Web API method in a release: read from the contract's
// x-available-from and x-deprecated-from (see apiContract.availability), never from the
// release table.
type Availability int

const (
	Available Availability = iota
	NotAvailable
	Deprecated // available, answered with Deprecation: true
)

// Profile is the set of token rules of one range of CRM.COM releases: token format and
// expiry, nothing about which methods exist (openapi.yaml says that).
type Profile struct {
	Name      string // "pre-R10", "R10", "R12"
	FromMajor int    // first release major the profile covers
	Format    TokenFormat
	UserRule  ExpiryRule // tokens of authentication/token
	KeyRule   ExpiryRule // tokens of every key: web API, consumer and device application keys
}

// profiles is the release table of token rules, as data. Sorted by FromMajor; a release
// uses the last row whose FromMajor it has reached.
var profiles = []Profile{
	// F6: user tokens die after one idle hour.
	{Name: wire.ProfilePreR10, FromMajor: 0, Format: FormatOpaque, UserRule: idleHour, KeyRule: twoHoursFixed},
	// F7: key tokens (from R10.0.0) die two hours after issue.
	{Name: wire.ProfileR10, FromMajor: 10, Format: FormatOpaque, UserRule: idleHour, KeyRule: twoHoursFixed},
	// F9/F10: from R12.0.0 every token is a JWT dying two hours after issue.
	{Name: wire.ProfileR12, FromMajor: 12, Format: FormatJWT, UserRule: twoHoursFixed, KeyRule: twoHoursFixed},
}

// Releases the mock knows by name: the oldest it emulates and the latest whose
// behaviour it knows (a later one behaves as it).
const (
	OldestRelease = "R4"
	LatestRelease = "R18"
)

// Release is a parsed CRM.COM release name. It is a plain value: its profile is a copy
// of the table's row, so changing a Release (say, Mock.Version's) changes nothing else.
type Release struct {
	Name                string // canonical: "pre-R10", "R9", "R10", "R10.0.0", "R16.2", "R12"
	Major, Minor, Patch int
	Profile             Profile
}

func (r Release) String() string { return r.Name }

// AtLeast tells whether r is o or later (R16.2 and R16.2.0 are the same release).
func (r Release) AtLeast(o Release) bool {
	if r.Major != o.Major {
		return r.Major > o.Major
	}
	if r.Minor != o.Minor {
		return r.Minor > o.Minor
	}
	return r.Patch >= o.Patch
}

// ParseRelease reads "pre-R10" (an alias of R9), "R<n>", "R<n>.<m>" or "R<n>.<m>.<p>"
// (F11; R16.2 is R16.2.0), case-insensitively, from R4; a release after the latest
// known one behaves as that one.
func ParseRelease(s string) (Release, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "pre-R10") {
		return Release{Name: "pre-R10", Major: 9, Profile: profileFor(9)}, nil
	}
	bad := fmt.Errorf("unknown release %q: want pre-R10, R<n>, R<n>.<m> or R<n>.<m>.<p>, from %s (e.g. R9, R10, R12.0.0, R16.2)", s, OldestRelease)
	if len(t) < 2 || (t[0] != 'R' && t[0] != 'r') {
		return Release{}, bad
	}
	parts := strings.Split(t[1:], ".")
	if len(parts) > 3 {
		return Release{}, bad
	}
	nums := make([]string, len(parts))
	var n3 [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 9999 || p == "" || p[0] == '+' || p[0] == '-' {
			return Release{}, bad
		}
		n3[i] = n
		nums[i] = strconv.Itoa(n)
	}
	if n3[0] < 4 {
		return Release{}, bad
	}
	return Release{Name: "R" + strings.Join(nums, "."), Major: n3[0], Minor: n3[1], Patch: n3[2], Profile: profileFor(n3[0])}, nil
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
