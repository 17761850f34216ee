// Package ops is the table of the Web API's operations: for each operation of the
// contract (openapi.yaml's operationId), its Web API method name, its kind and where
// a request carries the token it presents. Routing, the handlers, faults, the journal
// and the lint all read it: adding a method is adding a row (and, for a new kind, its
// handler in mockserver). When an operation exists is not here: the contract says it
// (x-available-from, x-deprecated-from).
package ops

// Web API method names of the fixed operations, as the journal's operation, a
// fault's operation and the lint name them (each is also the path below the base
// path). Any other method is named by its path, <resource>[/<sub>…]/<action>.
const (
	UserToken     = "authentication/token"
	KeyToken      = "authentication/web_api_key/token"
	Release       = "authentication/token/release"
	GenerateOTP   = "access_tokens/generate_otp"
	ConsumerToken = "authentication/consumer_application_key/token"
	DeviceToken   = "authentication/device_application_key/token"
)

// Kind is what an operation does; mockserver has one handler per kind.
type Kind uint8

const (
	Other         Kind = iota // any other Web API method: a live token, then the scenario's data (F5)
	UserLogin                 // a user (or access token) login (F2, F12)
	KeyLogin                  // a Web API key login (F7)
	ConsumerLogin             // a consumer application key login (F15, F16)
	DeviceLogin               // a device application key login (F18)
	OTP                       // a one-time password for an access token (F17)
	TokenRelease              // a token's release (F8)
	Kinds                     // how many kinds there are
)

// Place is where a request carries the token it presents.
type Place uint8

const (
	NoToken    Place = iota
	BodyToken        // the JSON body's field "token"
	QueryToken       // the query parameter "token"
)

// Op is one row of the table.
type Op struct {
	ID    string // the contract's operationId
	Name  string // the Web API method name; "" for other methods (their path names them)
	Kind  Kind
	Token Place
}

// Fixed reports whether the operation has a path of its own (not /{resource}/{action…}).
func (o *Op) Fixed() bool { return o.Name != "" }

// Table is every operation of the contract.
var Table = []*Op{
	{ID: "authenticationToken", Name: UserToken, Kind: UserLogin},
	{ID: "webApiKeyToken", Name: KeyToken, Kind: KeyLogin},
	{ID: "releaseToken", Name: Release, Kind: TokenRelease, Token: BodyToken},
	{ID: "generateOtp", Name: GenerateOTP, Kind: OTP, Token: BodyToken},
	{ID: "consumerApplicationKeyToken", Name: ConsumerToken, Kind: ConsumerLogin},
	{ID: "deviceApplicationKeyToken", Name: DeviceToken, Kind: DeviceLogin},
	{ID: "otherMethodGet", Kind: Other, Token: QueryToken},
	{ID: "otherMethodPost", Kind: Other, Token: BodyToken},
}

var byID = func() map[string]*Op {
	m := make(map[string]*Op, len(Table))
	for _, o := range Table {
		m[o.ID] = o
	}
	return m
}()

// ByID is the row of an operationId; nil for one the table lacks.
func ByID(id string) *Op { return byID[id] }

// FixedNames lists the Web API names of the operations with a path of their own, in
// the table's order.
func FixedNames() []string {
	var names []string
	for _, o := range Table {
		if o.Fixed() {
			names = append(names, o.Name)
		}
	}
	return names
}

// IsFixed reports whether name is the Web API name of an operation with a path of its own.
func IsFixed(name string) bool {
	for _, o := range Table {
		if o.Name == name && name != "" {
			return true
		}
	}
	return false
}
