package settings

import (
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

func (s selection) logs(l audit.Level, typ string) bool {
	if m, ok := s.types[typ]; ok {
		return m.has(l)
	}
	return s.def.has(l)
}

// TestWhyAgreesWithTables checks that the words of Explanation.Why follow
// the same steps as the compiled selections, for every preset with every
// kind of change, at every level, for listed, noisy, custom and no types.
func TestWhyAgreesWithTables(t *testing.T) {
	types := append(append(StandardTypes(), NoisyTypes()...), "", "custom", audit.TypeHTTPRequest)
	changes := []Rule{
		{},
		{Add: []string{datagrok.Click, "custom"}},
		{Remove: []string{audit.TypeLog, audit.TypeError, "custom"}},
		{AddLevels: []audit.Level{audit.LevelDebug, audit.LevelInfo}},
		{RemoveLevels: []audit.Level{audit.LevelError, audit.LevelUsage}},
		{Add: []string{datagrok.DialogOK}, Remove: []string{datagrok.QueryStart}, AddLevels: []audit.Level{audit.LevelInfo}, RemoveLevels: []audit.Level{audit.LevelAudit}},
	}
	for _, p := range presets {
		for _, c := range changes {
			r := c
			r.Scope, r.Preset = ScopeEveryone, p
			s := selectionOf(&r)
			for l := audit.Level(0); l <= 7; l++ {
				for _, typ := range types {
					want := s.logs(l, typ)
					got, why := ruleWhy(&r, l, typ)
					if !l.Valid() {
						if want {
							t.Errorf("%+v logs invalid level %d", r, l)
						}
						continue
					}
					if got != want {
						t.Errorf("%s %+v, %s %q: Why says %v (%s), the table %v", p, c, l, typ, got, why, want)
					}
				}
			}
		}
	}
}
