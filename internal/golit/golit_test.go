package golit

import (
	"go/format"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

type code string

type inner struct {
	N    *uint64
	Any  any
	skip int //nolint:unused // unexported: never written
}

type outer struct {
	Name  string
	Zero  string
	Codes map[code]inner
	List  []*inner
}

// Ensure values are written as the Go that builds them: untyped constants where the
// field types them, typed ones inside interfaces, pointers to basic values through ptr,
// maps in key order, zero and unexported fields left out.
func TestPrinterWritesComposites(t *testing.T) {
	five := uint64(5)
	v := outer{Name: "x", Codes: map[code]inner{"B": {Any: 2.5}, "A": {N: &five, Any: map[string]any{"k": []any{"s", true, nil}}}},
		List: []*inner{nil, {skip: 1}}}
	p := &Printer{Qualify: func(t reflect.Type) string { return t.Name() }}
	p.Printf("package x\n\nvar v = ")
	require.NoError(t, p.Value(reflect.ValueOf(v)))
	got, err := format.Source(p.Bytes())
	require.NoError(t, err, "%s", p.Bytes())
	want := `package x

var v = outer{
	Name: "x",
	Codes: map[code]inner{
		"A": inner{
			N: ptr(uint64(5)),
			Any: map[string]any{
				"k": []any{
					"s",
					bool(true),
					nil,
				},
			},
		},
		"B": inner{
			Any: float64(2.5),
		},
	},
	List: []*inner{
		nil,
		&inner{},
	},
}
`
	require.Equal(t, want, string(got))
}

// Ensure a value with no Go literal is an error, not a wrong file.
func TestPrinterRefusesWhatItCannotWrite(t *testing.T) {
	p := &Printer{Qualify: func(t reflect.Type) string { return t.Name() }}
	require.Error(t, p.Value(reflect.ValueOf(map[string]any{"c": make(chan int)})))
}
