package settings

import (
	"time"

	"github.com/auditkit/audit"
)

// RetentionOf returns the retention that the policy's Retention entries
// say, with Datagrok's default for every absent one.
func (p *Policy) RetentionOf() audit.Retention {
	r := audit.Retention{Levels: map[audit.Level]time.Duration{}}
	for k, v := range p.Retention {
		d := time.Duration(v.Days) * audit.Day
		if k == "sessions" {
			r.Sessions = d
		} else if l, err := audit.ParseLevel(k); err == nil {
			r.Levels[l] = d
		}
	}
	return r
}

// Retention returns the retention of the policy in force
// ([Policy.RetentionOf]); give it to a SQL store as its
// Options.RetentionPolicy, so that each retention run follows the settings.
func (e *Engine) Retention() audit.Retention {
	p := e.state.Load().policy
	return p.RetentionOf()
}
