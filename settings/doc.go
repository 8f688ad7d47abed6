// Package settings decides which events are logged for whom, and where they
// go, and lets operators change it live: Datagrok's "Settings - Logger". An
// [Engine] implements [audit.Policy]; give it to the Logger as
// Options.Policy, and change its [Config] with [Engine.Set], from a JSON
// file with [Watch], or from Postgres with package settings/pgsettings.
//
// # Presets
//
// Each [Rule] gives a scope a preset, optionally changed by the rule's Add,
// Remove, AddLevels and RemoveLevels:
//
//   - [PresetStandard]: the record types of [StandardTypes] (Datagrok's documented
//     default set, which covers the events that change server state, the
//     function, query, script, job and model starts, the main menu clicks,
//     dialogs and viewers that tell which features are used, and errors;
//     plus the server's start, logins and settings changes) at every level,
//     and any other event at warning, error, audit or usage level; but not
//     raw clicks ([NoisyTypes]) below error level, nor info and debug events.
//   - [PresetVerbose]: everything.
//   - [PresetCustom]: Standard with the rule's changes: the name of the usual way
//     to change Standard. Changes apply to the other presets as well.
//   - [PresetOff]: nothing but errors.
//
// A type in Add is logged at every level, and a type in Remove is not,
// except at error level (see below). An
// event whose type neither the preset's lists nor Add and Remove name
// (including events without a type, as Info, Debug and Warning log) is
// decided by its level: the preset's levels, plus AddLevels, minus
// RemoveLevels.
//
// Errors stay logged unless a rule removes them explicitly: every preset,
// Off included, logs events of type "error" and events at error level, and
// removing a type keeps its events at error level (removing
// "function-call" keeps the failed calls). A rule that wants them gone
// lists "error" in Remove (the type, as Logger.Error logs) and in
// RemoveLevels (other events at error level, of any type).
//
// # Precedence
//
// For a subject (user, groups, session, package: [audit.Subject]), the rules
// whose scope covers it are ranked by scope, and the first scope with an
// active rule decides alone:
//
//	session > user > package > group > everyone > the default (Standard)
//
// A session rule is the narrowest and usually the most deliberate ("debug
// this session"). A user rule beats a package rule so that "verbose for
// Alice" covers every component she touches, and a package rule beats
// group rules because it targets a source (a noisy component) more
// precisely than membership does. Within one scope and id, the last rule
// in Config.Rules wins, so a time-boxed override is appended after the rule
// it overrides, and the earlier rule applies again once it expires.
//
// A user in several groups that have rules gets the union of what those
// groups log: an event is logged when any of the group rules logs it. Group
// rules do not cancel each other, since losing audit records is worse than
// keeping a few more, and the outcome does not depend on the order in which
// the host lists the groups. A group that is Off thus adds nothing to the
// union; to silence a member, give the user a rule.
//
// # Nested groups
//
// The host gives each subject its own groups (audit.Subject.Groups).
// [Config.Groups] declares which groups contain which, as Datagrok's
// groups_relations does: with "groups": {"staff": ["analysts"],
// "analysts": ["interns"]}, a member of interns is a member of analysts and
// of staff too, so a rule for staff applies to interns. The expansion is
// recursive, each group the subject belongs to through nesting joins the
// union above, and a cycle ("a" contains "b" contains "a") makes the policy
// invalid, naming the cycle. A host that keeps the nesting in its own
// directory declares it from Go with [Engine.SetGroups], which adds to the
// document's nesting and is checked for cycles together with it.
//
// # Export blocks
//
// [Config.Exports] holds Datagrok's export blocks ([ExportBlock]): levels,
// type and param filters, log group, stream mapping, batch size, format and
// enabled, for each exporter by name. They are validated with the rest of
// the document and reload with it; [Engine.ExportBlocks] returns those in
// force, and an exporter that follows the settings (for CloudWatch,
// cloudwatch.Options.SettingsBlocks) takes them on its next batch.
//
// [Engine.Explain] answers "what is logged for Alice, and which rule decides
// it": the deciding scope and rules, the outranked and expired ones, and
// for any event, its route and the reason.
//
// # Redaction
//
// The "redact" block widens what the Logger redacts: {"redact": {"keys":
// ["ssn"], "patterns": ["^x-"]}} ([RedactRules]). Keys are added to
// audit.DefaultRedactKeys, so settings can only hide more, never expose
// what the defaults hide; a bad pattern makes the document invalid,
// naming it ("redact.patterns[0]: ..."). The HMAC key is never a setting:
// it stays in the Logger's Options.Redact. The Logger follows the block
// when [Options].OnChange gives [Engine.Redact] to Logger.SetRedact.
//
// # Expiry
//
// A rule with Expires applies while the engine's clock (Options.Now) is before that
// instant. The engine keeps a timer for the earliest expiry among the
// active rules; when it fires the policy is recompiled without the expired
// rules, and every binding follows on its next event. No restart and no
// new Set is needed. Tests inject Options.Now and Options.AfterFunc to move
// time by hand.
//
// # Level lists
//
// [Levels] say where the events that the rules log go: Store (saved to the
// store, default every level), Export (sent to the sinks, default every
// level), Print (written to the Logger's Printer, the service's own
// *slog.Logger; default warning and error). They map to [audit.RouteStore],
// [audit.RouteExport] and [audit.RoutePrint]; an event that is not logged
// gets the zero Route.
//
// # JSON
//
// [Parse] and [Load] read this format; the error of a bad document names
// each bad field ("rules[3].expires: ...", see [FieldError]):
//
//	{
//	  "levels": {"store": ["debug", "info", "warning", "error", "audit", "usage"],
//	             "export": ["error", "audit", "usage"], "print": ["error"]},
//	  "rules": [
//	    {"scope": "everyone", "preset": "standard"},
//	    {"scope": "group", "id": "analysts", "preset": "custom",
//	     "add": ["click"], "remove": ["log"], "add_levels": ["info"]},
//	    {"scope": "user", "id": "alice", "preset": "verbose",
//	     "expires": "2025-03-01T13:00:00Z", "comment": "ticket 42"},
//	    {"scope": "package", "id": "charts", "preset": "off"}
//	  ],
//	  "groups": {"staff": ["analysts", "ops"], "analysts": ["interns"]},
//	  "exports": [
//	    {"name": "errors", "levels": ["error"], "log_group": "/app/audit",
//	     "streams": {"error": "app_errors"}, "format": "text"},
//	    {"name": "usage", "types": ["main-menu-item-click"], "params": [],
//	     "log_group": "/app/audit", "default_stream": "usage",
//	     "batch_size": 500, "enabled": false}
//	  ],
//	  "retention": {"debug": {"days": 7}},
//	  "redact": {"keys": ["ssn"], "patterns": ["^x-"]}
//	}
//
// # Speed
//
// The Logger asks on every event. Each policy change compiles the active
// rules into an index; binding a subject (once per child logger or request
// context) finds its deciding rules and a decision table shared by every
// subject with the same deciding rules. Route then costs two atomic loads
// (the binding's table, and the engine's current policy to check it is
// still current) and at most one map lookup by type: about 10 ns and no
// allocation (see BENCHMARKS.md).
package settings
