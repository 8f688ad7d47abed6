package settings

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// Config says which events are logged for whom, and where they go. It is
// plain data: build it in code, or read it from JSON with [Parse] or
// [Load]. The zero Config logs the [PresetStandard] preset for everyone, stored,
// exported, and printed at warning and error.
type Config struct {
	// Version identifies the policy among its earlier versions; the
	// Postgres source sets it. Zero means unversioned.
	Version int64 `json:"version,omitempty"`
	// Levels are the level lists: which levels are stored, exported and
	// printed, for the events the rules log.
	Levels Levels `json:"levels"`
	// Rules say which events are logged for whom; see the package
	// documentation for how they combine.
	Rules []Rule `json:"rules"`
	// Groups declares nested groups: each group's subgroups, whose members
	// are members of the group too, so the group's rules apply to them.
	// The host gives a subject's own groups (audit.Subject.Groups); the
	// engine adds every group that contains one of them, recursively.
	// Cycles are refused.
	Groups map[string][]string `json:"groups,omitempty"`
	// Exports are the export blocks, in order; see [ExportBlock].
	Exports []ExportBlock `json:"exports,omitempty"`
	// Retention is how long the SQL stores keep events, per level name,
	// and unused sessions and users ("sessions"): in JSON,
	// {"retention": {"debug": {"days": 7}, "sessions": {"days": 400}}}, so
	// retention.debug.days. An absent key keeps Datagrok's default (see
	// [audit.DefaultRetention]). Stores apply it through [Engine.Retention].
	Retention map[string]RetentionPeriod `json:"retention,omitempty"`
	// Redact widens what the Logger redacts: in JSON,
	// {"redact": {"keys": ["ssn"], "patterns": ["^x-"]}}. See [RedactRules].
	Redact RedactRules `json:"redact,omitzero"`
}

// RedactRules are the redaction rules of a [Config], applied through
// [Engine.Redact] and Logger.SetRedact. They add to
// [audit.DefaultRedactKeys]: settings can only widen what is redacted,
// never expose what the defaults hide. The HMAC key is not a setting; it
// stays in the Logger's Options.Redact.
type RedactRules struct {
	// Keys are key fragments redacted on top of the defaults, matched as
	// audit.Redact.Keys.
	Keys []string `json:"keys,omitempty"`
	// Patterns are regular expressions (Go syntax) matched against param
	// keys, as audit.Redact.Patterns.
	Patterns []string `json:"patterns,omitempty"`
}

// RetentionPeriod is one entry of [Config.Retention].
type RetentionPeriod struct {
	// Days is how many days rows are kept; 0 means the default.
	Days int `json:"days"`
}

// Levels are the level lists of a [Config]. An event that the rules log
// goes to the store when its level is in Store, to the sinks when it is in
// Export, and to the Logger's Printer (the service's own log) when it is in
// Print. A nil list means its default; an empty, non-nil list means no
// level (in JSON: null or absent, and [] respectively).
type Levels struct {
	// Store lists the levels saved to the store. Default: every level.
	Store []audit.Level `json:"store"`
	// Export lists the levels exported to sinks. Default: every level.
	Export []audit.Level `json:"export"`
	// Print lists the levels printed to the service's own log. Default:
	// warning and error.
	Print []audit.Level `json:"print"`
}

// Rule sets the preset for one scope: everyone, a group, a user, a session
// or a package, optionally until a time.
type Rule struct {
	// Scope is what the rule applies to.
	Scope Scope `json:"scope"`
	// ID names the group, user, session or package; empty for
	// [ScopeEveryone].
	ID string `json:"id,omitempty"`
	// Preset is the base set of events logged.
	Preset Preset `json:"preset"`
	// Add lists record types logged at every level, on top of the preset.
	// Remove lists record types not logged, except their events at error
	// level, which stay logged unless RemoveLevels lists error level (or,
	// for the type "error" itself, Remove lists it). A type may not be in
	// both.
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
	// AddLevels and RemoveLevels change the levels logged for the types
	// that neither the preset nor Add and Remove list (including events
	// without a type: info, debug and warning).
	AddLevels    []audit.Level `json:"add_levels,omitempty"`
	RemoveLevels []audit.Level `json:"remove_levels,omitempty"`
	// Expires, when not zero, is when the rule stops applying: it applies
	// while the engine's clock is before Expires.
	Expires time.Time `json:"expires,omitzero"`
	// Comment says why the rule exists; the engine ignores it.
	Comment string `json:"comment,omitempty"`
}

// Scope is what a [Rule] applies to.
type Scope string

// The scopes, from the one that decides first to the one that decides last.
const (
	ScopeSession  Scope = "session"
	ScopeUser     Scope = "user"
	ScopePackage  Scope = "package"
	ScopeGroup    Scope = "group"
	ScopeEveryone Scope = "everyone"
)

// scopes are the scopes in precedence order: the first one with an active
// rule for a subject decides.
var scopes = []Scope{ScopeSession, ScopeUser, ScopePackage, ScopeGroup, ScopeEveryone}

// Preset is the base set of events a [Rule] logs.
type Preset string

// The presets. See the package documentation for what Standard logs.
const (
	// PresetStandard logs events that change server state, function, query and
	// script starts, menu clicks, dialogs and viewers, errors, and events
	// at warning, error, audit and usage level; not raw clicks
	// ([NoisyTypes]) nor info and debug.
	PresetStandard Preset = "standard"
	// PresetVerbose logs everything.
	PresetVerbose Preset = "verbose"
	// PresetCustom is Standard with the rule's Add, Remove, AddLevels and
	// RemoveLevels applied; it names the intent, and behaves as Standard
	// with those changes.
	PresetCustom Preset = "custom"
	// PresetOff logs nothing but errors (events at error level, and events of
	// type "error"); a rule removes those explicitly with
	// Remove: ["error"] and RemoveLevels: [error].
	PresetOff Preset = "off"
)

var presets = []Preset{PresetStandard, PresetVerbose, PresetCustom, PresetOff}

// StandardTypes returns the record types the [PresetStandard] preset logs at every
// level: Datagrok's documented default set ([datagrok.RecordTypes]) without the
// raw clicks ([NoisyTypes]), plus the server's own events (start, logins, settings
// changes, function calls).
func StandardTypes() []string {
	out := slices.DeleteFunc(datagrok.RecordTypes(), func(t string) bool { return slices.Contains(NoisyTypes(), t) })
	return append(out, datagrok.DatagrokStarted, datagrok.UserLoggedIn, datagrok.UserLoginFailed,
		datagrok.SettingsChanged, datagrok.LogSettingsChanged, audit.TypeFunctionCall)
}

// NoisyTypes returns the UI record types the [PresetStandard] preset does not log
// but at error level: raw clicks. The menu, dialog and viewer events that
// tell which features are used (main-menu-item-click, dialog-ok,
// viewer-rendered) are in [StandardTypes].
func NoisyTypes() []string {
	return []string{datagrok.Click}
}

// Validate reports every field of p that cannot be used, as [FieldError]s
// joined with [errors.Join]; nil when p is valid.
func (p *Config) Validate() error {
	var errs []error
	add := func(e *FieldError) { errs = append(errs, e) }
	if p.Version < 0 {
		add(fieldErr("version", "must not be negative, got %d", p.Version))
	}
	for _, l := range []struct {
		name string
		list []audit.Level
	}{{"store", p.Levels.Store}, {"export", p.Levels.Export}, {"print", p.Levels.Print}} {
		for i, lv := range l.list {
			if !lv.Valid() {
				add(fieldErr(fmt.Sprintf("levels.%s[%d]", l.name, i), "invalid level %d", uint8(lv)))
			}
		}
	}
	for i := range p.Rules {
		for _, e := range p.Rules[i].validate(fmt.Sprintf("rules[%d]", i)) {
			add(e)
		}
	}
	for _, e := range validateGroups(p.Groups) {
		add(e)
	}
	for _, e := range validateExports(p.Exports) {
		add(e)
	}
	for k, r := range p.Retention {
		if _, err := audit.ParseLevel(k); err != nil && k != "sessions" {
			add(fieldErr("retention."+k, "not a level name nor \"sessions\""))
		}
		if r.Days < 0 {
			add(fieldErr("retention."+k+".days", "must not be negative, got %d", r.Days))
		}
	}
	for i, k := range p.Redact.Keys {
		if strings.Trim(k, "-_") == "" {
			add(fieldErr(fmt.Sprintf("redact.keys[%d]", i), "empty key fragment"))
		}
	}
	for i, pat := range p.Redact.Patterns {
		if _, err := regexp.Compile(pat); err != nil {
			add(fieldErr(fmt.Sprintf("redact.patterns[%d]", i), "%v", err))
		}
	}
	return errors.Join(errs...)
}

func (r *Rule) validate(at string) []*FieldError {
	var errs []*FieldError
	add := func(e *FieldError) { errs = append(errs, e) }
	switch {
	case r.Scope == "":
		add(fieldErr(at+".scope", "required: one of everyone, group, user, session, package"))
	case !slices.Contains(scopes, r.Scope):
		add(fieldErr(at+".scope", "unknown scope %q: want one of everyone, group, user, session, package", r.Scope))
	case r.Scope == ScopeEveryone && r.ID != "":
		add(fieldErr(at+".id", "must be empty for scope everyone, got %q", r.ID))
	case r.Scope != ScopeEveryone && r.ID == "":
		add(fieldErr(at+".id", "required for scope %s", r.Scope))
	}
	switch {
	case r.Preset == "":
		add(fieldErr(at+".preset", "required: one of standard, verbose, custom, off"))
	case !slices.Contains(presets, r.Preset):
		add(fieldErr(at+".preset", "unknown preset %q: want one of standard, verbose, custom, off", r.Preset))
	}
	for i, t := range r.Add {
		if t == "" {
			add(fieldErr(fmt.Sprintf("%s.add[%d]", at, i), "empty record type"))
		}
	}
	for i, t := range r.Remove {
		switch {
		case t == "":
			add(fieldErr(fmt.Sprintf("%s.remove[%d]", at, i), "empty record type"))
		case slices.Contains(r.Add, t):
			add(fieldErr(fmt.Sprintf("%s.remove[%d]", at, i), "type %q is also in add", t))
		}
	}
	if y := r.Expires.Year(); !r.Expires.IsZero() && (y < 1 || y > 9999) {
		add(fieldErr(at+".expires", "year %d is outside 1 to 9999", y))
	}
	for i, l := range r.AddLevels {
		if !l.Valid() {
			add(fieldErr(fmt.Sprintf("%s.add_levels[%d]", at, i), "invalid level %d", uint8(l)))
		}
	}
	for i, l := range r.RemoveLevels {
		switch {
		case !l.Valid():
			add(fieldErr(fmt.Sprintf("%s.remove_levels[%d]", at, i), "invalid level %d", uint8(l)))
		case slices.Contains(r.AddLevels, l):
			add(fieldErr(fmt.Sprintf("%s.remove_levels[%d]", at, i), "level %s is also in add_levels", l))
		}
	}
	return errs
}

// clone returns a copy of p that shares no memory with it.
func (p Config) clone() Config {
	p.Levels.Store = slices.Clone(p.Levels.Store)
	p.Levels.Export = slices.Clone(p.Levels.Export)
	p.Levels.Print = slices.Clone(p.Levels.Print)
	p.Rules = slices.Clone(p.Rules)
	for i := range p.Rules {
		r := &p.Rules[i]
		r.Add, r.Remove = slices.Clone(r.Add), slices.Clone(r.Remove)
		r.AddLevels, r.RemoveLevels = slices.Clone(r.AddLevels), slices.Clone(r.RemoveLevels)
	}
	p.Groups = cloneGroups(p.Groups)
	p.Retention = maps.Clone(p.Retention)
	p.Redact.Keys, p.Redact.Patterns = slices.Clone(p.Redact.Keys), slices.Clone(p.Redact.Patterns)
	if p.Exports != nil {
		exports := make([]ExportBlock, len(p.Exports))
		for i, b := range p.Exports {
			exports[i] = b.clone()
		}
		p.Exports = exports
	}
	return p
}

// active reports whether the rule applies at now.
func (r *Rule) active(now time.Time) bool {
	return r.Expires.IsZero() || now.Before(r.Expires)
}

// describe names the rule for explanations: `rules[2] (user "alice", verbose, until ...)`.
func (r *Rule) describe(i int) string {
	s := fmt.Sprintf("rules[%d] (%s", i, r.Scope)
	if r.ID != "" {
		s += fmt.Sprintf(" %q", r.ID)
	}
	s += ", " + string(r.Preset)
	if !r.Expires.IsZero() {
		s += ", until " + r.Expires.UTC().Format(time.RFC3339)
	}
	return s + ")"
}
