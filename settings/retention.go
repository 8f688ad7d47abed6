package settings

import (
	"encoding/json"
	"time"

	"github.com/auditkit/audit"
)

// RetentionOf returns the retention that the policy's Retention entries
// say, with Datagrok's default for every absent one.
func (p *Config) RetentionOf() audit.Retention {
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
// ([Config.RetentionOf]); give it to a SQL store as its
// Options.RetentionPolicy, so that each retention run follows the settings.
func (e *Engine) Retention() audit.Retention {
	p := e.state.Load().policy
	return p.RetentionOf()
}

// retention decodes Policy.Retention: {"<level>|sessions": {"days": N}}.
func (d *decoder) retention(raw json.RawMessage, path string) map[string]RetentionPeriod {
	out := map[string]RetentionPeriod{}
	d.object(raw, path, func(key string, v json.RawMessage, at string) bool {
		var r RetentionPeriod
		d.object(v, at, func(k string, v json.RawMessage, at string) bool {
			if k != "days" {
				return false
			}
			d.value(v, at, &r.Days, "an integer")
			return true
		})
		out[key] = r
		return true
	})
	return out
}
