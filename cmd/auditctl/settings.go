package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

const settingsSummary = `The logger settings kept in Postgres (settings/pgsettings), in --schema:
  show                 the current policy (--policy: its JSON alone, as set reads it); exits 3 when none is stored
  set [FILE|-]         store a JSON policy (from FILE, or stdin) as the new version (--by, -m)
  history              every version, newest first (--limit)
  revert VERSION       make an earlier version's policy current again, as a new version (--by); exits 3 for no such version
  effective            what is logged for a subject, and which rule decides (--user, --group, --session, --package, --type)
set and revert are recorded in the audit log (type log-settings-changed) when the schema has the audit tables.`

func runSettings(ctx context.Context, c *cli, args []string) error {
	actions := map[string]func(context.Context, *cli, []string) error{
		"show": settingsShow, "set": settingsSet, "history": settingsHistory, "revert": settingsRevert, "effective": settingsEffective,
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fs := c.flagSet("ACTION [flags] [args]", settingsSummary)
		fs.Usage()
		if len(args) == 0 {
			return usageErrorf("missing action: want show, set, history, revert or effective")
		}
		return errHelp
	}
	act, ok := actions[args[0]]
	if !ok && strings.HasPrefix(args[0], "-") {
		return usageErrorf("the action comes first: auditctl settings ACTION [flags], not %q", args[0])
	}
	if !ok {
		return usageErrorf("unknown action %q: want show, set, history, revert or effective", args[0])
	}
	c.cmd += " " + args[0]
	return act(ctx, c, args[1:])
}

// openSettings opens the settings source of the Postgres database, and
// returns a function that closes it. With logChanges, changes are recorded
// in the audit log when the schema has the audit tables.
func (c *cli) openSettings(ctx context.Context, logChanges bool) (*pgsettings.Source, func() error, error) {
	if err := c.needDB(); err != nil {
		return nil, nil, err
	}
	if !isPostgres(c.db) {
		return nil, nil, usageErrorf("settings are kept in Postgres (settings/pgsettings), and %s is a SQLite file: give a Postgres DSN", c.db)
	}
	engine, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		return nil, nil, err
	}
	opts := pgsettings.Options{Schema: c.schemaName(), OnError: func(err error) {
		fmt.Fprintf(c.stderr, "auditctl: %s: warning: %v\n", c.cmd, err)
	}}
	var logger *audit.Logger
	if logChanges {
		store, err := c.openPostgres(ctx)
		switch {
		case exitCode(err) == exitNotMigrated:
			fmt.Fprintf(c.stderr, "auditctl: %s: note: the change is not recorded in the audit log: %v\n", c.cmd, err)
		case err != nil:
			engine.Close(ctx)
			return nil, nil, err
		default:
			logger, err = audit.New(audit.Options{Store: store, CloseStore: true, Now: c.now})
			if err != nil {
				store.Close(ctx)
				engine.Close(ctx)
				return nil, nil, err
			}
			opts.Logger = logger
		}
	}
	src, err := pgsettings.Open(ctx, c.db, engine, opts)
	if err != nil {
		if logger != nil {
			logger.Close(ctx)
		}
		engine.Close(ctx)
		return nil, nil, err
	}
	closeAll := func() error {
		ctx := context.WithoutCancel(ctx)
		errs := []error{src.Close(ctx)}
		if logger != nil {
			errs = append(errs, logger.Close(ctx))
			if s := logger.Stats(); s.Failed > 0 || s.Dropped > 0 {
				errs = append(errs, fmt.Errorf("the change was made, but its audit event was not stored (%d failed, %d dropped)", s.Failed, s.Dropped))
			}
		}
		errs = append(errs, engine.Close(ctx))
		return errors.Join(errs...)
	}
	return src, closeAll, nil
}

// withSettings parses the action's flags, opens the source, runs fn, and
// closes the source.
func (c *cli) withSettings(ctx context.Context, logChanges bool, fn func(*pgsettings.Source) error) (err error) {
	src, closeAll, err := c.openSettings(ctx, logChanges)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeAll()) }()
	return fn(src)
}

func versionsTable(vs []pgsettings.Version) table {
	t := table{name: "versions", title: "Versions, newest first", cols: cols("version", "changed_at", "changed_by", "rules", "revert_of", "comment")}
	for _, v := range vs {
		revert := ""
		if v.RevertOf != 0 {
			revert = strconv.FormatInt(v.RevertOf, 10)
		}
		t.rows = append(t.rows, []any{v.Version, v.ChangedAt, v.ChangedBy, len(v.Config.Rules), revert, v.Comment})
	}
	return t
}

func rulesTable(rules []settings.Rule) table {
	t := table{name: "rules", title: "Rules", cols: cols("index", "scope", "id", "preset", "add", "remove", "add_levels", "remove_levels", "expires", "comment")}
	levels := func(ls []audit.Level) string {
		names := make([]string, len(ls))
		for i, l := range ls {
			names[i] = l.String()
		}
		return strings.Join(names, " ")
	}
	for i, r := range rules {
		t.rows = append(t.rows, []any{i, string(r.Scope), r.ID, string(r.Preset), strings.Join(r.Add, " "), strings.Join(r.Remove, " "),
			levels(r.AddLevels), levels(r.RemoveLevels), r.Expires, r.Comment})
	}
	return t
}

func levelsLine(name string, ls []audit.Level, def string) string {
	if ls == nil {
		return fmt.Sprintf("  %-7s %s (default)", name+":", def)
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.String()
	}
	if len(names) == 0 {
		names = []string{"(none)"}
	}
	return fmt.Sprintf("  %-7s %s", name+":", strings.Join(names, " "))
}

func settingsShow(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", "The current policy: its version, who made it and why, its level lists and rules.")
	var out outputFlags
	out.add(fs)
	policyOnly := fs.Bool("policy", false, "print the policy's JSON alone, as 'settings set' reads it")
	if err := c.noArgs(fs, args); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	return c.withSettings(ctx, false, func(src *pgsettings.Source) error {
		vs, err := src.History(ctx, 1)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return notFoundf("no settings version is stored in schema %q: the default policy (standard for everyone) applies", c.schemaName())
		}
		v := vs[0]
		if *policyOnly {
			p := v.Config
			p.Version = 0
			return writeJSON(c.stdout, p)
		}
		lines := []string{fmt.Sprintf("Version %d, by %s at %s UTC", v.Version, orNone(v.ChangedBy), textCell(v.ChangedAt))}
		if v.Comment != "" {
			lines = append(lines, "Comment: "+v.Comment)
		}
		lines = append(lines, "Levels:",
			levelsLine("store", v.Config.Levels.Store, "every level"),
			levelsLine("export", v.Config.Levels.Export, "every level"),
			levelsLine("print", v.Config.Levels.Print, "warning error"))
		return c.emit(out, report{value: v, lines: lines, tables: []table{rulesTable(v.Config.Rules)}})
	})
}

func orNone(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// noArgs parses the flags of an action that takes no argument.
func (c *cli) noArgs(fs *flag.FlagSet, args []string) error {
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	return nil
}

func (c *cli) by(v string) (string, error) {
	if v != "" {
		return v, nil
	}
	for _, k := range []string{"USER", "USERNAME"} {
		if u := c.getenv(k); u != "" {
			return u, nil
		}
	}
	return "", usageErrorf("--by is required: who makes the change")
}

func settingsSet(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("[FILE|-]", "Store the JSON policy of FILE (or stdin, with - or no FILE) as the new current version.\nThe format is settings.Config's: see 'go doc github.com/auditkit/audit/settings'.")
	by := fs.String("by", "", "who makes the change (default $USER)")
	comment := fs.String("m", "", "why: the version's comment")
	var out outputFlags
	out.add(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("unexpected argument %q", pos[1])
	}
	if err := out.check(); err != nil {
		return err
	}
	who, err := c.by(*by)
	if err != nil {
		return err
	}
	var data []byte
	if len(pos) == 0 || pos[0] == "-" {
		data, err = io.ReadAll(c.stdin)
	} else {
		data, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return usageErrorf("read policy: %v", err)
	}
	p, err := settings.Parse(data)
	if err != nil {
		return err
	}
	return c.withSettings(ctx, true, func(src *pgsettings.Source) error {
		v, err := src.Set(ctx, p, who, *comment)
		if err != nil {
			return err
		}
		return c.emit(out, report{value: v, lines: []string{fmt.Sprintf("Version %d stored, by %s: %d rules", v.Version, who, len(v.Config.Rules))}})
	})
}

func settingsHistory(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", "Every version of the policy, newest first.")
	limit := fs.Int("limit", 0, "at most this many versions, the newest (default all)")
	var out outputFlags
	out.add(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if err := nonNegative("limit", *limit); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	return c.withSettings(ctx, false, func(src *pgsettings.Source) error {
		vs, err := src.History(ctx, *limit)
		if err != nil {
			return err
		}
		if vs == nil {
			vs = []pgsettings.Version{}
		}
		return c.emit(out, report{value: vs, tables: []table{versionsTable(vs)}})
	})
}

func settingsRevert(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("VERSION", "Make the policy of an earlier version current again, as a new version that records which one it restores.")
	by := fs.String("by", "", "who makes the change (default $USER)")
	var out outputFlags
	out.add(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("missing argument: want VERSION")
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	}
	version, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || version <= 0 {
		return usageErrorf("version %q is not a positive integer", pos[0])
	}
	if err := out.check(); err != nil {
		return err
	}
	who, err := c.by(*by)
	if err != nil {
		return err
	}
	return c.withSettings(ctx, true, func(src *pgsettings.Source) error {
		v, err := src.Revert(ctx, version, who)
		if err != nil {
			return err
		}
		return c.emit(out, report{value: v, lines: []string{fmt.Sprintf("Version %d stored, by %s: the policy of version %d", v.Version, who, version)}})
	})
}

// routeJSON is where an event of a level and type goes, in JSON.
type routeJSON struct {
	Level audit.Level
	Type  string
	Route string
	Why   string
}

// explanationJSON is an explanation with its routes, in JSON.
type explanationJSON struct {
	settings.Explanation
	Routes []routeJSON
}

func settingsEffective(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", "What is logged for a subject under the current policy, and which rule decides:\nfor each level, where an event without a type (and of each --type) goes, and why.")
	var subj audit.Subject
	var groups, types listFlag
	fs.StringVar(&subj.UserID, "user", "", "the user")
	fs.Var(&groups, "group", "a group of the user (repeatable)")
	fs.StringVar(&subj.SessionID, "session", "", "the session")
	fs.StringVar(&subj.Package, "package", "", "the package (the component that logs)")
	fs.Var(&types, "type", "a record type to explain, besides events without one (repeatable)")
	var out outputFlags
	out.add(fs, "routes", "rules")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if err := out.check(); err != nil {
		return err
	}
	subj.Groups = groups
	return c.withSettings(ctx, false, func(src *pgsettings.Source) error {
		x := src.Effective(subj)
		res := explanationJSON{Explanation: x}
		rt := table{name: "routes", title: "Where events go", cols: cols("level", "type", "route", "why")}
		for _, typ := range append([]string{""}, types...) {
			for _, l := range audit.Levels() {
				r := routeJSON{Level: l, Type: typ, Route: settings.RouteString(x.Route(l, typ)), Why: x.Why(l, typ)}
				res.Routes = append(res.Routes, r)
				rt.rows = append(rt.rows, []any{l, typ, r.Route, r.Why})
			}
		}
		rules := table{name: "rules", title: "Rules that match", cols: cols("role", "index", "scope", "id", "preset", "expires", "comment")}
		for _, g := range []struct {
			role string
			refs []settings.RuleRef
		}{{"deciding", x.Rules}, {"outranked", x.Outranked}, {"expired", x.Expired}} {
			for _, r := range g.refs {
				rules.rows = append(rules.rows, []any{g.role, r.Index, string(r.Rule.Scope), r.Rule.ID, string(r.Rule.Preset), r.Rule.Expires, r.Rule.Comment})
			}
		}
		scope := string(x.Scope)
		if scope == "" {
			scope = "none: the default (standard) applies"
		}
		lines := []string{
			fmt.Sprintf("Subject: user %q, groups %q, session %q, package %q", subj.UserID, subj.Groups, subj.SessionID, subj.Package),
			fmt.Sprintf("Policy version %d; deciding scope: %s", x.Version, scope),
		}
		if !x.Until.IsZero() {
			lines = append(lines, "Until "+textCell(x.Until)+" UTC, when a rule expires")
		}
		// Why sentences are long: the text table shows them uncut.
		if !out.json && !out.csv {
			return c.explainText(out, lines, rules, res.Routes)
		}
		return c.emit(out, report{value: res, lines: lines, tables: []table{rt, rules}})
	})
}

// explainText prints an explanation as text, with the reasons uncut.
func (c *cli) explainText(out outputFlags, lines []string, rules table, routes []routeJSON) error {
	if out.table != "" && out.table != "routes" && out.table != "rules" {
		return usageErrorf("--table %q: want one of routes, rules", out.table)
	}
	for _, l := range lines {
		fmt.Fprintln(c.stdout, clean(l))
	}
	if out.table != "rules" {
		fmt.Fprintln(c.stdout, "\nWhere events go:")
		for _, r := range routes {
			fmt.Fprintf(c.stdout, "  %s\n", clean(r.Why))
		}
	}
	if out.table != "routes" {
		fmt.Fprintln(c.stdout)
		writeText(c.stdout, rules)
	}
	return nil
}
