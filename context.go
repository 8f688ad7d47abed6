package audit

import (
	"context"
	"sync/atomic"
)

type subjectKey struct{}

// attribution is what WithSubject stores in a context: the subject, and the
// last logger bound to it, so request-scoped code that calls Logger.For
// repeatedly binds once.
type attribution struct {
	subject Subject
	bound   atomic.Pointer[boundLogger]
}

type boundLogger struct {
	parent, child *Logger
}

// WithSubject returns a context that attributes events to s: request-scoped
// code passes it to [Logger.LogEvent] or [Logger.For], and the events are
// attributed to s and decided by the policy for s. Non-empty fields of s
// override the logger's own subject.
func WithSubject(ctx context.Context, s Subject) context.Context {
	s.Groups = append([]string(nil), s.Groups...)
	return context.WithValue(ctx, subjectKey{}, &attribution{subject: s})
}

// SubjectFrom returns the subject that ctx attributes events to, if any.
func SubjectFrom(ctx context.Context) (Subject, bool) {
	if ctx == nil {
		return Subject{}, false
	}
	a, ok := ctx.Value(subjectKey{}).(*attribution)
	if !ok {
		return Subject{}, false
	}
	return a.subject, true
}

// For returns the logger to use in ctx: l itself when ctx carries no subject,
// else a child of l bound to ctx's subject (see [WithSubject]). The child is
// cached in the context, so calling For again with the same context and
// logger costs a lookup.
func (l *Logger) For(ctx context.Context) *Logger {
	if ctx == nil {
		return l
	}
	a, ok := ctx.Value(subjectKey{}).(*attribution)
	if !ok {
		return l
	}
	if b := a.bound.Load(); b != nil && b.parent == l {
		return b.child
	}
	s := l.subject
	if a.subject.UserID != "" {
		s.UserID, s.Groups = a.subject.UserID, a.subject.Groups
	}
	if len(a.subject.Groups) > 0 {
		s.Groups = a.subject.Groups
	}
	if a.subject.SessionID != "" {
		s.SessionID = a.subject.SessionID
	}
	if a.subject.Package != "" {
		s.Package = a.subject.Package
	}
	child := l.WithSubject(s)
	a.bound.Store(&boundLogger{parent: l, child: child})
	return child
}
