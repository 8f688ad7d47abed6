package settings

import (
	"regexp"
	"slices"

	"github.com/auditkit/audit"
)

// Redact returns the redaction rule of the policy in force: the
// [audit.DefaultRedactKeys] plus the policy's [RedactRules] keys, and its
// patterns compiled. Give it to Logger.SetRedact, from Options.OnChange,
// so that the Logger follows the settings; a Logger with keys of its own
// in Options.Redact adds them to r.Keys first.
func (e *Engine) Redact() audit.Redact {
	rr := e.state.Load().policy.Redact
	r := audit.Redact{Keys: slices.Concat(audit.DefaultRedactKeys, rr.Keys)}
	for _, p := range rr.Patterns {
		if re, err := regexp.Compile(p); err == nil { // validated by Set
			r.Patterns = append(r.Patterns, re)
		}
	}
	return r
}
