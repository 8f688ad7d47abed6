package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/auditkit/audit"
)

func TestFingerprintIgnoresClosureNumbers(t *testing.T) {
	a := "main.run.func1()\n\t/a/main.go:10\nmain.run.gowrap2()\n\t/a/main.go:12\nmain.each-range1()\n\t/a/main.go:20\n"
	b := "main.run.func3()\n\t/b/main.go:11\nmain.run.gowrap1()\n\t/b/main.go:40\nmain.each-range2()\n\t/b/main.go:21\n"
	if audit.Fingerprint(a) != audit.Fingerprint(b) {
		t.Error("closure numbers split the group")
	}
	if c := strings.Replace(a, "main.run.func1", "main.walk.func1", 1); audit.Fingerprint(a) == audit.Fingerprint(c) {
		t.Error("closures of different functions share a fingerprint")
	}
	js1 := "TypeError: x is undefined\n    at render (https://h/app.js:10:5)\n    at main (https://h/app.js:99:1)"
	js2 := "TypeError: x is undefined\n    at render (https://h/app.js:12:9)\n    at main (https://h/app.js:101:3)"
	if audit.Fingerprint(js1) != audit.Fingerprint(js2) {
		t.Error("a JS trace's line and column numbers split the group")
	}
}

// TestFingerprintAcrossBuilds builds two programs with different module
// paths and file layouts that fail in the same function, and checks that
// both the stack the Logger captures and a Go panic trace (debug.Stack)
// give the same fingerprint in both.
func TestFingerprintAcrossBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	const body = `
type capture struct{}

func (capture) Write(_ context.Context, evs []audit.Event) error {
	for _, e := range evs {
		fmt.Println(e.Fingerprint)
	}
	return nil
}

func fail(l *audit.Logger) {
	err := fmt.Errorf("charge %d: %w", 42, errors.New("card declined"))
	l.Error(err)
	fmt.Println(audit.Fingerprint(string(debug.Stack())))
}
`
	const imports = `package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/auditkit/audit"
)
`
	const mainFn = `
func main() {
	l, err := audit.New(audit.Options{Store: capture{}, Sync: true})
	if err != nil {
		panic(err)
	}
	fail(l)
	_ = l.Close(context.Background())
}
`
	programs := []struct{ module, src string }{
		{"example.com/one", imports + body + mainFn},
		// Another module path, main first, the failing function 40 lines
		// further down, in a file of another name.
		{"example.org/deeply/nested/two", imports + "\n// Two.\n" + mainFn + strings.Repeat("\n// padding\n", 40) + body},
	}
	var outs []string
	for i, p := range programs {
		bin := buildProgram(t, p.module, map[string]string{fmt.Sprintf("prog%d.go", i): p.src})
		out, err := exec.Command(bin).CombinedOutput()
		if err != nil {
			t.Fatalf("run %s: %v\n%s", p.module, err, out)
		}
		outs = append(outs, string(out))
	}
	lines := func(s string) []string { return strings.Fields(s) }
	a, b := lines(outs[0]), lines(outs[1])
	if len(a) != 2 || len(b) != 2 || len(a[0]) != 32 || len(a[1]) != 32 {
		t.Fatalf("outputs %q and %q, want two fingerprints each", outs[0], outs[1])
	}
	if a[0] != b[0] {
		t.Errorf("the Logger's fingerprints differ across builds: %s and %s", a[0], b[0])
	}
	if a[1] != b[1] {
		t.Errorf("debug.Stack fingerprints differ across builds: %s and %s", a[1], b[1])
	}
}

// buildProgram builds a main package of the given module from files, in a
// temporary directory, against this module's source, offline, and returns
// the executable's path.
func buildProgram(t *testing.T, module string, files map[string]string) string {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	_, requires, _ := strings.Cut(string(gomod), "\nrequire")
	goLine := regexp.MustCompile(`(?m)^go \S+$`).FindString(string(gomod))
	dir := t.TempDir()
	all := map[string]string{
		"go.mod": "module " + module + "\n\n" + goLine + "\n\nrequire github.com/auditkit/audit v0.0.0\n\n" +
			"replace github.com/auditkit/audit => " + root + "\n\nrequire" + requires,
		"go.sum": string(gosum),
	}
	for name, text := range files {
		all[name] = text
	}
	for name, text := range all {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "prog")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", module, err, out)
	}
	return bin
}

// pkgStack mimics github.com/pkg/errors: StackTrace returns a slice of a
// uintptr type.
type frame uintptr

type stackTrace []frame

type pkgStack struct {
	msg string
	pcs []uintptr
}

func (e *pkgStack) Error() string { return e.msg }

func (e *pkgStack) StackTrace() stackTrace {
	st := make(stackTrace, len(e.pcs))
	for i, pc := range e.pcs {
		st[i] = frame(pc)
	}
	return st
}

// callersErr mimics go-errors: Callers() []uintptr.
type callersErr struct{ pcs []uintptr }

func (e *callersErr) Error() string      { return "callers" }
func (e *callersErr) Callers() []uintptr { return e.pcs }

//go:noinline
func originOfPkgStack() error {
	pcs := make([]uintptr, 32)
	return &pkgStack{msg: "deep", pcs: pcs[:runtime.Callers(1, pcs)]}
}

//go:noinline
func originOfCallers() error {
	pcs := make([]uintptr, 32)
	return &callersErr{pcs: pcs[:runtime.Callers(1, pcs)]}
}

type opError struct {
	Op  string
	Err error
}

func (e *opError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *opError) Unwrap() error { return e.Err }

func TestErrorsGroupWell(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	pathErr := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	l.Error(fmt.Errorf("load config: %w", pathErr))
	l.Error(errors.Join(errors.New("first"), fmt.Errorf("second: %w", &opError{"dial", errors.New("refused")})))
	l.Error(fmt.Errorf("wrapped: %w", originOfPkgStack()))
	l.Error(originOfCallers())
	l.Error(originOfCallers(), "given\n\t/x.go:1\n") // a given stack wins
	l.Error(errors.New("plain"))
	flush(t, l)
	evs := rec.all()
	if len(evs) != 6 {
		t.Fatalf("%d events", len(evs))
	}
	param := func(e audit.Event, k string) string { v, _ := e.Param(k); return v.String() }

	if got := param(evs[0], "error_type"); got != "*fs.PathError" {
		t.Errorf("error_type %q, want *fs.PathError", got)
	}
	wantChain := `[{"type":"*fmt.wrapError","message":"load config: open /x: file does not exist"},` +
		`{"type":"*fs.PathError","message":"open /x: file does not exist"},` +
		`{"type":"*errors.errorString","message":"file does not exist"}]`
	if got := param(evs[0], "error_chain"); got != wantChain {
		t.Errorf("error_chain\n%s\nwant\n%s", got, wantChain)
	}
	if got := param(evs[1], "error_type"); got != "*errors.errorString" {
		t.Errorf("join: error_type %q (the first branch holds only a bare message)", got)
	}
	if got := param(evs[1], "error_chain"); !strings.Contains(got, `"type":"*audit_test.opError","message":"dial: refused"`) {
		t.Errorf("join: the chain misses the second branch: %s", got)
	}
	if got := param(evs[2], "error_type"); got != "*audit_test.pkgStack" {
		t.Errorf("error_type %q", got)
	}
	for i, fn := range map[int]string{2: "originOfPkgStack", 3: "originOfCallers"} {
		first, _, _ := strings.Cut(evs[i].StackTrace, "\n")
		if !strings.HasSuffix(first, "audit_test."+fn+"()") {
			t.Errorf("event %d: the stack starts at %q, want the error's origin %s:\n%s", i, first, fn, evs[i].StackTrace)
		}
	}
	if evs[4].StackTrace != "given\n\t/x.go:1\n" {
		t.Errorf("a given stack lost to the error's: %q", evs[4].StackTrace)
	}
	if _, ok := evs[5].Param("error_chain"); ok {
		t.Error("an error that wraps nothing got a chain")
	}
	if !strings.Contains(evs[5].StackTrace, "TestErrorsGroupWell") {
		t.Errorf("without a carried stack the call site's is used:\n%s", evs[5].StackTrace)
	}
}

// TestCallEndUsesTheErrorsStack checks that a failed Do records the stack
// the error carries and its specific type.
func TestCallEndUsesTheErrorsStack(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	_, _ = audit.Do(context.Background(), l, "work", nil, func(context.Context) (int, error) {
		return 0, fmt.Errorf("work: %w", originOfPkgStack())
	})
	flush(t, l)
	e := rec.all()[0]
	if first, _, _ := strings.Cut(e.StackTrace, "\n"); !strings.HasSuffix(first, "audit_test.originOfPkgStack()") {
		t.Errorf("stack starts at %q", first)
	}
	if v, _ := e.Param("error_type"); v.String() != "*audit_test.pkgStack" {
		t.Errorf("error_type %q", v)
	}
}
