package callstack

import (
	"strings"
	"testing"
)

func TestCaptureStartsAtCaller(t *testing.T) {
	s := Capture(0)
	first, _, _ := strings.Cut(s, "\n")
	if first != "github.com/auditkit/audit/internal/callstack.TestCaptureStartsAtCaller()" {
		t.Fatalf("first frame %q, stack:\n%s", first, s)
	}
	if strings.Contains(s, "0x") {
		t.Errorf("stack has addresses:\n%s", s)
	}
}

func TestFromPC(t *testing.T) {
	if got := FromPC(0); got != "" {
		t.Errorf("FromPC(0) = %q", got)
	}
}

func panicker() { panic("boom") }

func TestPanicCutsRecovery(t *testing.T) {
	var s string
	func() {
		defer func() {
			recover()
			s = Panic()
		}()
		panicker()
	}()
	lines := strings.Split(s, "\n")
	if !strings.HasPrefix(lines[0], "goroutine ") {
		t.Errorf("header %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "github.com/auditkit/audit/internal/callstack.panicker(") {
		t.Errorf("first frame %q, stack:\n%s", lines[1], s)
	}
	if strings.Contains(s, "runtime/debug.Stack") || strings.Contains(s, "\npanic(") {
		t.Errorf("recovery frames kept:\n%s", s)
	}
}

func TestCallersFormat(t *testing.T) {
	pcs := Callers(0)
	if got, want := Format(pcs), Capture(0); strings.SplitN(got, "\n", 2)[0] != strings.SplitN(want, "\n", 2)[0] {
		t.Errorf("Format(Callers(0)) starts %q, Capture(0) %q", got, want)
	}
	if Format(nil) != "" {
		t.Error("Format(nil) not empty")
	}
}
