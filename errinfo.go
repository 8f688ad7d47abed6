package audit

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/auditkit/audit/internal/callstack"
)

// maxChain bounds the errors listed in ErrorChainParam.
const maxChain = 16

// describeError returns what Logger.Error records of msg: its text, the
// params describing it (ErrorTypeParam and, for a wrapping error,
// ErrorChainParam), and the stack it carries, if any.
func describeError(msg any) (text string, params []Param, stack string) {
	switch m := msg.(type) {
	case nil:
		return "", nil, ""
	case string:
		return m, nil, ""
	case error:
		return errorMessage(m), errorParams(m), carriedStack(m)
	}
	return safeString(func() string { return fmt.Sprint(msg) }).String(), nil, ""
}

// errorParams returns ErrorTypeParam and, when err wraps other errors,
// ErrorChainParam.
func errorParams(err error) []Param {
	ps := []Param{{Key: ErrorTypeParam, Value: StringValue(errorType(err))}}
	chain := errorChain(err)
	if len(chain) < 2 {
		return ps
	}
	type link struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	links := make([]link, len(chain))
	for i, e := range chain {
		links[i] = link{Type: fmt.Sprintf("%T", e), Message: errorMessage(e)}
	}
	raw, err := json.Marshal(links)
	if err != nil { // cannot happen with strings only; keep the reason if it does
		return append(ps, Param{Key: ErrorChainParam, Value: StringValue("!ERROR: " + err.Error())})
	}
	return append(ps, Param{Key: ErrorChainParam, Value: JSONValue(raw)})
}

// errorType returns the Go type recorded in ErrorTypeParam: the first type
// in err's chain that is not a generic wrapper or a bare message
// (fmt.Errorf's, errors.Join's, errors.New's, and those of pkg/errors,
// cockroachdb/errors, go-errors and eris), so that an *fs.PathError wrapped
// with fmt.Errorf is recorded as *fs.PathError rather than *fmt.wrapError
// (nor as the syscall.Errno the PathError wraps). The chain is followed
// through Unwrap, taking the first error of a join. When every error in it
// is generic, the innermost type is recorded. For a [*PanicError] it is the
// type of the panic value.
func errorType(err error) string {
	if pe, ok := err.(*PanicError); ok {
		if inner, ok := pe.Value.(error); ok {
			return errorType(inner)
		}
		return fmt.Sprintf("%T", pe.Value)
	}
	last := err
	for e, n := err, 0; e != nil && n < maxChain; e, n = unwrapFirst(e), n+1 {
		if !isGenericError(e) {
			return fmt.Sprintf("%T", e)
		}
		last = e
	}
	return fmt.Sprintf("%T", last)
}

// genericErrors are the types, by package path and name, that only wrap or
// carry a message: they say nothing about what failed.
var genericErrors = map[string]bool{
	"fmt.wrapError":      true,
	"fmt.wrapErrors":     true,
	"errors.joinError":   true,
	"errors.errorString": true,

	"github.com/pkg/errors.fundamental": true,
	"github.com/pkg/errors.withStack":   true,
	"github.com/pkg/errors.withMessage": true,

	"github.com/cockroachdb/errors/withstack.withStack":    true,
	"github.com/cockroachdb/errors/errutil.leafError":      true,
	"github.com/cockroachdb/errors/errutil.withPrefix":     true,
	"github.com/cockroachdb/errors/errutil.withNewMessage": true,
	"github.com/cockroachdb/errors/errbase.opaqueLeaf":     true,
	"github.com/cockroachdb/errors/errbase.opaqueWrapper":  true,

	"github.com/go-errors/errors.Error": true,

	"github.com/rotisserie/eris.rootError": true,
	"github.com/rotisserie/eris.wrapError": true,
}

func isGenericError(err error) bool {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return genericErrors[t.PkgPath()+"."+t.Name()]
}

// unwrapFirst returns what err wraps: Unwrap() error, or the first of
// Unwrap() []error. A panicking Unwrap ends the chain.
func unwrapFirst(err error) (next error) {
	defer func() {
		if recover() != nil {
			next = nil
		}
	}()
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		return x.Unwrap()
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if e != nil {
				return e
			}
		}
	}
	return nil
}

// unwrapAll returns every error err wraps. A panicking Unwrap wraps nothing.
func unwrapAll(err error) (next []error) {
	defer func() {
		if recover() != nil {
			next = nil
		}
	}()
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		if e := x.Unwrap(); e != nil {
			return []error{e}
		}
	case interface{ Unwrap() []error }:
		return x.Unwrap()
	}
	return nil
}

// errorChain returns err and the errors it wraps, depth first, at most
// maxChain of them.
func errorChain(err error) []error {
	var out []error
	var walk func(e error)
	walk = func(e error) {
		if e == nil || len(out) >= maxChain {
			return
		}
		out = append(out, e)
		for _, n := range unwrapAll(e) {
			walk(n)
		}
	}
	walk(err)
	return out
}

// carriedStack returns the stack that err, or an error it wraps, recorded
// when it was made, in the format of the stacks the Logger captures; empty
// when none does. The innermost such stack is the one nearest the failure.
// Errors are recognized by their methods, without importing their packages:
// StackTrace() returning a slice of program counters (pkg/errors,
// cockroachdb/errors: a []Frame where Frame is a uintptr), or
// Callers() []uintptr (go-errors).
func carriedStack(err error) string {
	var pcs []uintptr
	for _, e := range errorChain(err) {
		if p := stackPCs(e); len(p) > 0 {
			pcs = p
		}
	}
	return callstack.Format(pcs)
}

// stackPCs returns the program counters err carries, or nil.
func stackPCs(err error) (pcs []uintptr) {
	defer func() {
		if recover() != nil {
			pcs = nil
		}
	}()
	if c, ok := err.(interface{ Callers() []uintptr }); ok {
		return c.Callers()
	}
	m, ok := reflect.TypeOf(err).MethodByName("StackTrace")
	if !ok {
		return nil
	}
	mt := m.Type // the receiver is its first input
	if mt.NumIn() != 1 || mt.NumOut() != 1 || mt.Out(0).Kind() != reflect.Slice || mt.Out(0).Elem().Kind() != reflect.Uintptr {
		return nil
	}
	st := m.Func.Call([]reflect.Value{reflect.ValueOf(err)})[0]
	pcs = make([]uintptr, st.Len())
	for i := range pcs {
		pcs[i] = uintptr(st.Index(i).Uint())
	}
	return pcs
}
