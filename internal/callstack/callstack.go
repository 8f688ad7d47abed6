// Package callstack captures goroutine stacks in the text format the audit
// Logger stores in Event.StackTrace, for the packages of this module that
// record errors and panics outside the root package's own Error method.
package callstack

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// maxFrames bounds captured stacks.
const maxFrames = 64

// Capture returns the calling goroutine's stack, skipping skip frames above
// Capture's caller, formatted like a Go panic trace without addresses or
// argument values: "function()\n\tfile:line\n" per frame. It is the format
// of the stacks the audit Logger captures for Logger.Error, so both hash
// alike with audit.Fingerprint.
func Capture(skip int) string {
	var pcs [maxFrames]uintptr
	n := runtime.Callers(skip+2, pcs[:])
	return format(pcs[:n])
}

// Callers returns the program counters of the calling goroutine's stack,
// skipping skip frames above Callers' caller, for [Format] to turn into
// text later: cheaper than [Capture] when the stack is seldom needed.
func Callers(skip int) []uintptr {
	var pcs [maxFrames]uintptr
	n := runtime.Callers(skip+2, pcs[:])
	return append([]uintptr(nil), pcs[:n]...)
}

// Format returns the stack of program counters from [Callers] in the format
// of [Capture].
func Format(pcs []uintptr) string {
	if len(pcs) == 0 {
		return ""
	}
	return format(pcs)
}

// FromPC returns the one-frame stack of a program counter as recorded by
// runtime.Callers (slog.Record.PC), in the format of [Capture]; empty when pc
// is zero.
func FromPC(pc uintptr) string {
	if pc == 0 {
		return ""
	}
	return format([]uintptr{pc})
}

func format(pcs []uintptr) string {
	frames := runtime.CallersFrames(pcs)
	var b strings.Builder
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.goexit") {
			b.WriteString(f.Function)
			b.WriteString("()\n\t")
			b.WriteString(f.File)
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(f.Line))
			b.WriteByte('\n')
		}
		if !more {
			break
		}
	}
	return b.String()
}

// Panic returns the stack of the panicking goroutine, to be called from the
// deferred function that recovered the panic. It is [debug.Stack] (the Go
// panic format, with its "goroutine N [running]:" header) without the frames
// of the recovery itself: debug.Stack, the deferred function and the
// runtime's panic frame are cut, so the trace starts at the function that
// panicked and its fingerprint does not depend on where it was recovered.
func Panic() string {
	s := string(debug.Stack())
	lines := strings.SplitAfter(s, "\n")
	// A frame is two lines: "pkg.fn(args)" then "\tfile:line +0x..".
	for i, line := range lines {
		if strings.HasPrefix(line, "panic(") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			head := ""
			if strings.HasPrefix(lines[0], "goroutine ") {
				head = lines[0]
			}
			return head + strings.Join(lines[i+2:], "")
		}
	}
	return s
}
