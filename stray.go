package audit

import (
	"encoding/json"
	"reflect"
	"time"
	"unsafe"
)

// strayValue converts a stray logging argument (see [BadArgKey]) to a Value
// without letting the compiler see it escape.
//
// The logging methods' arguments do not escape, so that a Param passed as
// `any` is boxed on the caller's stack and costs no allocation. What the
// boxes hold (strings, and whatever a value points to) does escape, and so
// lives on the heap. A stray argument must go through AnyValue, which keeps
// what it is given (reflection, encoding/json, Error, String and
// MarshalJSON methods); so the box itself (or, for a pointer, the object it
// points to) is first copied to the heap, and AnyValue gets the copy. The
// pointer to the original is hidden from escape analysis only for that copy,
// and is held in pointer-typed variables throughout, so a stack move
// updates it.
func strayValue(x any) Value {
	switch v := x.(type) {
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		float32, float64, time.Time, time.Duration, Entity, Value:
		return scalarValue(v)
	case json.RawMessage:
		return JSONValue(v)
	case []byte:
		return StringValue(string(v))
	case map[string]string:
		return mapValue(len(v), func(yield func(string, any)) {
			for k, e := range v {
				yield(k, e)
			}
		})
	case map[string]int:
		return mapValue(len(v), func(yield func(string, any)) {
			for k, e := range v {
				yield(k, e)
			}
		})
	}
	t := reflect.TypeOf(x)
	data := (*[2]unsafe.Pointer)(unsafe.Pointer(&x))[1]
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return StringValue("!ERROR: cannot encode " + t.String())
	case reflect.Map:
		// A map may live on the caller's stack, its entries too.
		return StringValue("!ERROR: " + t.String() + " not recorded: pass maps as map[string]any")
	case reflect.Pointer:
		if data == nil {
			return Value{}
		}
		c := reflect.New(t.Elem())
		c.Elem().Set(reflect.NewAt(t.Elem(), hide(data)).Elem())
		return AnyValue(c.Interface())
	}
	if directIface(t) {
		// A struct or array of one pointer is stored in the interface word
		// itself, and what it points to may live on the caller's stack.
		return StringValue("!ERROR: " + t.String() + " not recorded: pass it with audit.Any")
	}
	c := reflect.New(t)
	c.Elem().Set(reflect.NewAt(t, hide(data)).Elem())
	return AnyValue(c.Elem().Interface())
}

// directIface reports whether values of t are stored in an interface's data
// word rather than pointed to by it: pointer-shaped types, and structs and
// arrays made of exactly one of them (the compiler's rule).
func directIface(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func:
		return true
	case reflect.Struct:
		return t.NumField() == 1 && directIface(t.Field(0).Type)
	case reflect.Array:
		return t.Len() == 1 && directIface(t.Elem())
	}
	return false
}

// scalarValue is AnyValue for the types whose values hold no pointers into
// the caller's memory.
func scalarValue(v any) Value {
	switch v := v.(type) {
	case bool:
		return BoolValue(v)
	case int:
		return Int64Value(int64(v))
	case int8:
		return Int64Value(int64(v))
	case int16:
		return Int64Value(int64(v))
	case int32:
		return Int64Value(int64(v))
	case int64:
		return Int64Value(v)
	case uint:
		return Uint64Value(uint64(v))
	case uint8:
		return Uint64Value(uint64(v))
	case uint16:
		return Uint64Value(uint64(v))
	case uint32:
		return Uint64Value(uint64(v))
	case uint64:
		return Uint64Value(v)
	case uintptr:
		return Uint64Value(uint64(v))
	case float32:
		return Float64Value(float64(v))
	case float64:
		return Float64Value(v)
	case time.Time:
		return TimeValue(v)
	case time.Duration:
		return DurationValue(v)
	case Entity:
		return EntityValue(v)
	case Value:
		return v
	}
	return Value{}
}

// mapValue copies a map's entries into a fresh map[string]any and converts
// that.
func mapValue(n int, entries func(yield func(string, any))) Value {
	m := make(map[string]any, n)
	entries(func(k string, v any) { m[k] = v })
	return AnyValue(m)
}
