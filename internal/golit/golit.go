// Package golit writes a Go value as the Go expression that builds it (composite
// literals), for generators that compile data the binary would otherwise decode at
// start-up: openapi.yaml (internal/contract/gen) and the built-in scenario
// (mockserver/internal/gendefault). Only exported fields are written; a generator's test
// checks the built value equals the decoded one.
package golit

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Printer writes values to its buffer.
type Printer struct {
	// Qualify names a named type as the generated file spells it (e.g. "openapi3.T", or
	// "Scenario" in the type's own package).
	Qualify func(t reflect.Type) string
	// Hook, when set, may write v itself (done true), e.g. a type whose map is
	// unexported; else v is written as a literal.
	Hook func(p *Printer, v reflect.Value) (done bool, err error)

	buf bytes.Buffer
}

// Printf writes to the output.
func (p *Printer) Printf(format string, args ...any) { fmt.Fprintf(&p.buf, format, args...) }

// Bytes is what was written.
func (p *Printer) Bytes() []byte { return p.buf.Bytes() }

// Value writes v as an expression of its type.
func (p *Printer) Value(v reflect.Value) error {
	if p.Hook != nil {
		if done, err := p.Hook(p, v); done || err != nil {
			return err
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		return p.pointer(v)
	case reflect.Struct:
		return p.Struct(v, nil)
	case reflect.Slice:
		return p.list(v)
	case reflect.Map:
		return p.mapLit(v)
	case reflect.Interface:
		if v.IsNil() {
			p.Printf("nil")
			return nil
		}
		return p.dynamic(v.Elem())
	default: // an untyped constant: the field, element or key it is written into types it
		return p.basic(v)
	}
}

func (p *Printer) pointer(v reflect.Value) error {
	if v.IsNil() {
		p.Printf("nil")
		return nil
	}
	if v.Elem().Kind() != reflect.Struct {
		p.Printf("ptr(")
		if err := p.dynamic(v.Elem()); err != nil {
			return err
		}
		p.Printf(")")
		return nil
	}
	p.Printf("&")
	return p.Struct(v.Elem(), nil)
}

// Struct writes a struct's non-zero exported fields, those keep allows (nil: all).
func (p *Printer) Struct(v reflect.Value, keep func(name string) bool) error {
	t := v.Type()
	p.Printf("%s{", p.TypeName(t))
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		if !f.IsExported() || fv.IsZero() || keep != nil && !keep(f.Name) {
			continue
		}
		p.Printf("\n%s: ", f.Name)
		if err := p.Value(fv); err != nil {
			return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		p.Printf(",")
	}
	p.Printf("\n}")
	return nil
}

func (p *Printer) list(v reflect.Value) error {
	p.Printf("%s{", p.TypeName(v.Type()))
	for i := range v.Len() {
		p.Printf("\n")
		if err := p.Value(v.Index(i)); err != nil {
			return err
		}
		p.Printf(",")
	}
	p.Printf("\n}")
	return nil
}

func (p *Printer) mapLit(v reflect.Value) error {
	p.Printf("%s{", p.TypeName(v.Type()))
	for _, k := range SortedKeys(v) {
		p.Printf("\n")
		if err := p.Value(k); err != nil {
			return err
		}
		p.Printf(": ")
		if err := p.Value(v.MapIndex(k)); err != nil {
			return fmt.Errorf("%v: %w", k, err)
		}
		p.Printf(",")
	}
	p.Printf("\n}")
	return nil
}

// SortedKeys is a map's keys in order of their string form: generated files are stable.
func SortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return keys
}

// dynamic writes a basic value (or one held in an interface) with its type, so the
// expression has that type and not a constant's default one; composite values as
// Value does.
func (p *Printer) dynamic(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Map, reflect.Slice, reflect.Struct, reflect.Pointer, reflect.Interface:
		return p.Value(v)
	case reflect.String:
		if v.Type() == reflect.TypeFor[string]() {
			return p.basic(v)
		}
	}
	p.Printf("%s(", p.TypeName(v.Type()))
	if err := p.basic(v); err != nil {
		return err
	}
	p.Printf(")")
	return nil
}

func (p *Printer) basic(v reflect.Value) error {
	switch v.Kind() {
	case reflect.String:
		p.Printf("%s", strconv.Quote(v.String()))
	case reflect.Bool:
		p.Printf("%t", v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		p.Printf("%d", v.Int())
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		p.Printf("%d", v.Uint())
	case reflect.Float64, reflect.Float32:
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("number %v has no Go literal", f)
		}
		p.Printf("%s", strconv.FormatFloat(f, 'g', -1, 64))
	default:
		return fmt.Errorf("no Go literal for a %s", v.Type())
	}
	return nil
}

// TypeName is t as written in the generated file.
func (p *Printer) TypeName(t reflect.Type) string {
	if t.Name() != "" && t.PkgPath() != "" {
		return p.Qualify(t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + p.TypeName(t.Elem())
	case reflect.Slice:
		return "[]" + p.TypeName(t.Elem())
	case reflect.Map:
		return "map[" + p.TypeName(t.Key()) + "]" + p.TypeName(t.Elem())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any"
		}
	}
	return t.String()
}

// PtrFunc is the generic helper a generated file that holds pointers to basic values
// declares once.
const PtrFunc = "func ptr[T any](v T) *T { return &v }\n"
