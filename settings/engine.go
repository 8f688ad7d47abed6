package settings

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditkit/audit"
)

// Options configure an [Engine]. The zero value means the defaults.
type Options struct {
	// Now returns the current time, by which rules expire. Default
	// time.Now. Tests inject a clock, with AfterFunc, to move time by hand.
	Now func() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed on the
	// clock of Now, unless stop is called first; stop reports whether it
	// prevented the call. Default: time.AfterFunc and its Timer's Stop.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// OnChange, when set, is called after the policy in force changes
	// (New, Set, SetGroups, a rule's expiry), in the goroutine that made
	// the change, outside the engine's lock. Calls do not overlap, and one
	// starts after each change, so the engine as the last call reads it is
	// the engine in force. Use it to apply what the Logger does not ask on
	// each event, e.g. redaction:
	// func(e *settings.Engine) { logger.SetRedact(e.Redact()) }.
	// It must not change the engine. Default nil.
	OnChange func(*Engine)
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AfterFunc == nil {
		o.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	return o
}

// Engine is an [audit.Policy] that decides by a [Config], changed live with
// [Engine.Set]. Give it to the Logger as Options.Policy.
//
// The policy is compiled once per change into an index of the active rules;
// each binding (one per child logger or request subject) caches the
// decision table of its subject, so deciding an event costs two atomic
// loads and at most one map lookup, with no allocation. When a rule
// expires, a timer recompiles the policy, and every binding sees the change
// on its next event. All methods are safe for concurrent use.
type Engine struct {
	opts  Options
	state atomic.Pointer[state]

	mu     sync.Mutex  // serializes changes
	stop   func() bool // stops the timer that fires when the earliest active rule expires; nil if none
	closed bool
	groups map[string][]string // the nesting set with SetGroups

	changed  bool       // a change not yet told to OnChange; under mu
	notifyMu sync.Mutex // serializes OnChange calls
}

var _ audit.Policy = (*Engine)(nil)

// New returns an Engine deciding by p. It fails with an error wrapping
// [ErrInvalidPolicy] when p is not valid.
func New(p Config, opts Options) (*Engine, error) {
	e := &Engine{opts: opts.withDefaults()}
	if err := e.Set(p); err != nil {
		return nil, err
	}
	return e, nil
}

// Set validates p and, when it is valid, makes it the policy from now on:
// every binding, made before or after, decides by it from its next event.
// When p is not valid, the current policy stays in force and Set returns
// the error, wrapping [ErrInvalidPolicy]. The engine keeps a copy of p.
func (e *Engine) Set(p Config) error {
	defer e.notify()
	if err := p.Validate(); err != nil {
		return err
	}
	p = p.clone()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("settings: set: %w", audit.ErrClosed)
	}
	if len(e.groups) > 0 {
		if err := joinErrs(validateGroups(mergeGroups(p.Groups, e.groups))); err != nil {
			return fmt.Errorf("%w (with the nesting given to SetGroups)", err)
		}
	}
	e.install(&p)
	return nil
}

// SetGroups declares group nesting from Go, as the host service knows it
// (its directory, Datagrok's groups_relations): each group's subgroups,
// whose members are members of the group too. It replaces the nesting of
// the previous SetGroups, and adds to the policy's [Config.Groups]: a
// subgroup declared in either is a subgroup. It fails, changing nothing,
// with an error wrapping [ErrInvalidPolicy] when the nesting, alone or
// with the policy's, has a cycle or an empty name. The engine keeps a
// copy; nil removes the nesting set before.
func (e *Engine) SetGroups(groups map[string][]string) error {
	defer e.notify()
	if err := joinErrs(validateGroups(groups)); err != nil {
		return err
	}
	groups = cloneGroups(groups)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("settings: set groups: %w", audit.ErrClosed)
	}
	st := e.state.Load()
	if err := joinErrs(validateGroups(mergeGroups(st.policy.Groups, groups))); err != nil {
		return fmt.Errorf("%w (with the nesting of the policy in force)", err)
	}
	e.groups = groups
	e.install(st.policy)
	return nil
}

// install compiles p now, publishes it, and schedules the next expiry.
// e.mu is held.
func (e *Engine) install(p *Config) {
	st := compile(p, e.opts.Now())
	if e.groups != nil {
		st.setParents(parentsOf(mergeGroups(p.Groups, e.groups)))
	}
	e.state.Store(st)
	e.changed = true
	e.schedule(st, st.next.Sub(st.at))
}

// notify calls OnChange when a change has not been told yet. Each change
// is followed by a notify that takes the flag after it, so the last call
// sees the last change. e.mu is not held.
func (e *Engine) notify() {
	if e.opts.OnChange == nil {
		return
	}
	e.notifyMu.Lock()
	defer e.notifyMu.Unlock()
	e.mu.Lock()
	changed := e.changed
	e.changed = false
	e.mu.Unlock()
	if changed {
		e.opts.OnChange(e)
	}
}

// schedule arranges for expire(st) to run after d, replacing any pending
// timer; nothing when st has no rule that expires. e.mu is held.
func (e *Engine) schedule(st *state, d time.Duration) {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
	if !st.next.IsZero() {
		e.stop = e.opts.AfterFunc(d, func() { e.expire(st) })
	}
}

// expire runs when the earliest active rule of st expires: it recompiles
// the policy without the rules that have expired. A timer of a state that
// was replaced meanwhile does nothing.
func (e *Engine) expire(st *state) {
	defer e.notify()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.state.Load() != st {
		return
	}
	if now := e.opts.Now(); now.Before(st.next) {
		e.schedule(st, st.next.Sub(now)) // fired early (the wall clock moved)
		return
	}
	e.install(st.policy)
}

// Policy returns a copy of the policy in force.
func (e *Engine) Policy() Config { return e.state.Load().policy.clone() }

// Close stops the expiry timer: rules no longer expire, and Set fails with
// [audit.ErrClosed]. Bindings keep deciding by the last policy. Close is
// idempotent and returns nil.
func (e *Engine) Close(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
	return nil
}

// Bind returns the binding for s: the decisions for s, precomputed, kept up
// to date with the policy.
func (e *Engine) Bind(s audit.Subject) audit.Binding {
	s.Groups = slices.Clone(s.Groups)
	b := &binding{e: e, subject: s}
	b.t.Store(e.state.Load().tableFor(s))
	return b
}

// binding is an Engine bound to one subject.
type binding struct {
	e       *Engine
	t       atomic.Pointer[table]
	subject audit.Subject
}

// Route returns where an event of this level and type goes for the
// binding's subject. When the policy changed since the last call, it first
// rebuilds (or finds in the new state's cache) the subject's table.
func (b *binding) Route(l audit.Level, typ string) audit.Route {
	t := b.t.Load()
	if st := b.e.state.Load(); t.st != st {
		t = st.tableFor(b.subject)
		b.t.Store(t)
	}
	return t.route(l, typ)
}
