package settings_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
)

// realisticPolicy has 100 rules: everyone, 30 groups, 40 users (10 of them
// time-boxed), 20 sessions and 9 packages, with Custom additions and
// removals.
func realisticPolicy() settings.Config {
	p := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeEveryone, Preset: settings.PresetStandard}}}
	presets := []settings.Preset{settings.PresetStandard, settings.PresetVerbose, settings.PresetCustom, settings.PresetOff}
	for i := range 30 {
		p.Rules = append(p.Rules, settings.Rule{
			Scope: settings.ScopeGroup, ID: fmt.Sprintf("group-%d", i), Preset: presets[i%4],
			Add: []string{fmt.Sprintf("custom-%d", i)}, Remove: []string{audit.TypeLog},
		})
	}
	for i := range 40 {
		r := settings.Rule{Scope: settings.ScopeUser, ID: fmt.Sprintf("user-%d", i), Preset: presets[i%4]}
		if i%4 == 0 {
			r.Expires = time.Now().Add(24 * time.Hour)
		}
		if i%3 == 0 {
			r.Preset, r.Add, r.AddLevels = settings.PresetCustom, []string{datagrok.Click}, []audit.Level{audit.LevelDebug}
		}
		p.Rules = append(p.Rules, r)
	}
	for i := range 20 {
		p.Rules = append(p.Rules, settings.Rule{Scope: settings.ScopeSession, ID: fmt.Sprintf("session-%d", i), Preset: settings.PresetVerbose})
	}
	for i := range 9 {
		p.Rules = append(p.Rules, settings.Rule{Scope: settings.ScopePackage, ID: fmt.Sprintf("pkg-%d", i), Preset: settings.PresetOff})
	}
	return p
}

// benchSubject is a user without a rule of their own in three groups that
// have rules (combined as a union), and two that have none.
var benchSubject = audit.Subject{
	UserID: "someone", SessionID: "no-rule-session",
	Groups: []string{"group-0", "group-2", "group-7", "nogroup-1", "nogroup-2"},
}

var sinkRoute audit.Route

// BenchmarkRoute measures Binding.Route, which the Logger calls on every
// event: for an enabled event and a disabled one, with the realistic
// policy, for a user in several groups and for a user with a rule of their
// own.
func BenchmarkRoute(b *testing.B) {
	e, err := settings.New(realisticPolicy(), settings.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(b.Context())
	subjects := []struct {
		name string
		s    audit.Subject
	}{
		{"groups", benchSubject},
		{"user", audit.Subject{UserID: "user-3", Groups: benchSubject.Groups}},
	}
	events := []struct {
		name  string
		level audit.Level
		typ   string
		want  bool
	}{
		{"enabled", audit.LevelAudit, datagrok.QueryStart, true},
		{"disabled", audit.LevelUsage, datagrok.ViewerRendered, false},
		{"untyped-disabled", audit.LevelDebug, "", false},
	}
	for _, s := range subjects {
		bd := e.Bind(s.s)
		for _, ev := range events {
			if got := bd.Route(ev.level, ev.typ) != 0; got != ev.want && s.name == "groups" {
				b.Fatalf("%s %s: logged = %v, want %v", s.name, ev.name, got, ev.want)
			}
			b.Run(s.name+"/"+ev.name, func(b *testing.B) {
				b.ReportAllocs()
				var r audit.Route
				for b.Loop() {
					r |= bd.Route(ev.level, ev.typ)
				}
				sinkRoute = r
			})
		}
	}
	b.Run("groups/enabled/parallel", func(b *testing.B) {
		bd := e.Bind(benchSubject)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var r audit.Route
			for pb.Next() {
				r |= bd.Route(audit.LevelAudit, datagrok.QueryStart)
			}
			sinkRoute = r
		})
	})
}

// BenchmarkBind measures binding a subject, done once per child logger or
// request context, when its table is cached.
func BenchmarkBind(b *testing.B) {
	e, err := settings.New(realisticPolicy(), settings.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(b.Context())
	e.Bind(benchSubject)
	b.ReportAllocs()
	for b.Loop() {
		e.Bind(benchSubject)
	}
}

// BenchmarkLogger measures a disabled and an enabled event through a whole
// Logger deciding by the engine.
func BenchmarkLogger(b *testing.B) {
	e, err := settings.New(realisticPolicy(), settings.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(b.Context())
	l, err := audit.New(audit.Options{Policy: e, QueueSize: 1 << 16, Overflow: audit.OverflowDrop})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(b.Context())
	u := l.WithSubject(benchSubject)
	b.Run("disabled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			u.Usage("rendered", nil, datagrok.ViewerRendered)
		}
	})
}

// BenchmarkBindNested compares binding benchSubject under the realistic
// policy (the anchor) with the same policy where each of the subject's
// groups sits three levels below groups that have rules.
func BenchmarkBindNested(b *testing.B) {
	nested := realisticPolicy()
	nested.Groups = map[string][]string{}
	for i := range 30 {
		// group-i contains sub-i-a, which contains sub-i-b, which contains
		// the subject's group: nogroup-1 and nogroup-2 are now members.
		a, c := fmt.Sprintf("sub-%d-a", i), fmt.Sprintf("sub-%d-b", i)
		nested.Groups[fmt.Sprintf("group-%d", i)] = []string{a}
		nested.Groups[a] = []string{c}
		nested.Groups[c] = []string{fmt.Sprintf("nogroup-%d", 1+i%2)}
	}
	for _, bc := range []struct {
		name string
		p    settings.Config
	}{{"groups=flat", realisticPolicy()}, {"groups=nested", nested}} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := settings.New(bc.p, settings.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(b.Context())
			e.Bind(benchSubject)
			b.ReportAllocs()
			for b.Loop() {
				e.Bind(benchSubject)
			}
		})
	}
}
