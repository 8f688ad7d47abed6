package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/internal/dsn"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

// Exit codes; see the package doc.
const (
	exitOK          = 0
	exitFailure     = 1 // the database could not be reached, a query failed, ...
	exitUsage       = 2 // bad flags or arguments
	exitNotFound    = 3 // no such object or settings version
	exitNotMigrated = 4 // the database has not the audit tables, or old ones
	exitTampered    = 5 // verify found the digest chain or the events changed
)

// Environment variables read for the global flags' defaults.
const (
	envDB     = "AUDIT_DB"
	envSchema = "AUDIT_SCHEMA"
)

// cli is one invocation: its streams, environment, clock and global flags.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// stderrTTY says whether stderr is a terminal: progress bars are drawn
	// only then.
	stderrTTY bool

	db, schema, groupsFile string
	cmd                    string // the subcommand, for error messages
}

// run runs auditctl with the arguments args (without the program name) and
// returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.stderrTTY = true
		}
	}
	return c.run(ctx, args)
}

// command is a subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"activity", "OBJECT", "the events that name an object, newest first", runActivity},
		{"usage", "[OBJECT]", "event counts by record type, user and day, of one object or all", runUsage},
		{"feed", "", "the newest events, filtered; -f follows new ones, --all exports everything", runFeed},
		{"overview", "", "active and new users, sessions, events and errors, with the previous window", runOverview},
		{"functions", "", "function calls: per function, per user and time, and the calls themselves", runFunctions},
		{"errors", "", "errors grouped by stack fingerprint, and the actions that lead to them", runErrors},
		{"perf", "", "p50/p95/p99 durations per record type and HTTP route, with error rates", runPerf},
		{"patterns", "", "clusters of users by their usage, and how they split across groups", runPatterns},
		{"unused", "", "the least used record types and menu items, those never used included", runUnused},
		{"history", "OBJECT", "where an object came from, its modifications and what was derived from it", runHistory},
		{"serve", "", "the dashboard in the browser: overview, log with live tail, errors, performance, ...", runServe},
		{"migrate", "", "create or update the audit tables (--print: the SQL, to apply by hand)", runMigrate},
		{"retention", "", "delete what outlived its level's retention (--dry-run: count it)", runRetention},
		{"verify", "", "check the tamper-evident digest chain: what was changed, deleted or inserted, and where", runVerify},
		{"collect", "", "write the events of a JetStream stream to the database (--from nats://..., --to DSN)", runCollect},
		{"rollup", "", "bring the rollups the window questions read up to date (--rebuild: from scratch)", runRollup},
		{"hash", "[VALUE]", "the HMAC that replaces a value redacted with a key, to search for it", runHash},
		{"settings", "ACTION", "the logger settings kept in Postgres: show, set, history, revert, effective", runSettings},
	}
}

func (c *cli) run(ctx context.Context, args []string) int {
	c.db, c.schema = c.getenv(envDB), c.getenv(envSchema)
	fs := flag.NewFlagSet("auditctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.stdout)
			return exitOK
		}
		fmt.Fprintf(c.stderr, "auditctl: %v\n", err)
		fmt.Fprintln(c.stderr, "run 'auditctl -h' for usage")
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			return c.run(ctx, []string{rest[1], "-h"})
		}
		c.usage(c.stdout)
		return exitOK
	}
	for _, cmd := range commands() {
		if cmd.name != rest[0] {
			continue
		}
		c.cmd = cmd.name
		out := bufio.NewWriter(c.stdout)
		c.stdout = flushWriter{out}
		err := cmd.run(ctx, c, rest[1:])
		if ferr := out.Flush(); err == nil && ferr != nil {
			err = ferr
		}
		return c.report(err)
	}
	fmt.Fprintf(c.stderr, "auditctl: unknown command %q\n", rest[0])
	fmt.Fprintln(c.stderr, "run 'auditctl -h' for usage")
	return exitUsage
}

// flushWriter is the buffered stdout; follow mode flushes it after each
// event (see flush).
type flushWriter struct{ *bufio.Writer }

// flush flushes w when it is buffered.
func flush(w io.Writer) error {
	if f, ok := w.(flushWriter); ok {
		return f.Flush()
	}
	return nil
}

// globalFlags adds the flags that every subcommand also takes.
func (c *cli) globalFlags(fs *flag.FlagSet) {
	fs.Var(dbFlag{&c.db}, "db", "the database: a SQLite file path, or a Postgres URL or key=value `DSN` (env "+envDB+")")
	fs.StringVar(&c.schema, "schema", c.schema, "the Postgres schema of the audit tables (env "+envSchema+"; default public)")
	fs.StringVar(&c.groupsFile, "groups", c.groupsFile, "a JSON file mapping users to their groups, {\"alice\": [\"analysts\"]}, for --group and patterns (besides the store's directory)")
}

// dbFlag is the --db flag: its value, printed as the default in usage,
// shows the DSN with its password masked.
type dbFlag struct{ p *string }

func (f dbFlag) String() string {
	if f.p == nil {
		return ""
	}
	return dsn.Mask(*f.p)
}

func (f dbFlag) Set(s string) error { *f.p = s; return nil }

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `auditctl asks an audit log the questions it is kept for.

Usage:
  auditctl [--db PATH_OR_DSN] [--schema NAME] COMMAND [flags] [args]

Commands:
`)
	tw := newTabWriter(w)
	for _, cmd := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", cmd.name, cmd.args, cmd.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Global flags (also accepted after the command):
  --db PATH_OR_DSN   a SQLite file, or a Postgres URL (postgres://...) or DSN (host=... dbname=...); env AUDIT_DB
  --schema NAME      the Postgres schema of the audit tables; env AUDIT_SCHEMA; default public
  --groups FILE      a JSON file mapping users to groups, {"alice": ["analysts"]}

Output flags of the questions:
  --json             the result as JSON (feed --all and feed -f: one event per line)
  --csv              one table as CSV with a header row (choose it with --table)
  --table NAME       the table to print (default: all in text, the first in CSV)

Scope flags of the questions over events (all but history), each repeatable:
  --user ID          only events of this user ("" for events without one)
  --group ID         only events of users in this group (--groups FILE, or the store's directory)
  --level LEVEL      only events of this level (or comma-separated levels)

Times (--since, --until): RFC 3339 (2026-11-01T09:00:00Z), a date (2026-11-01, UTC),
or a duration before now (90m, 36h, 7d, 1d12h).
Objects: kind:id (query:q-42), or an id of any kind (q-42, or :id when the id has a colon).

Exit codes: 0 ok, 1 failure (database unreachable, query failed), 2 usage error,
3 not found (no such object or settings version), 4 database not migrated,
5 verify found the trail tampered with.

Run 'auditctl COMMAND -h' for the flags of a command.
`)
}

// errorf returns an error that exits with code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &exitError{exitNotFound, fmt.Errorf(format, args...)}
}

func notMigratedf(format string, args ...any) error {
	return &exitError{exitNotMigrated, fmt.Errorf(format, args...)}
}

// errHelp is returned by a command's flag parsing for -h: its usage was
// printed and the exit code is 0.
var errHelp = errors.New("help")

// report prints err, if any, and returns the exit code.
func (c *cli) report(err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	code := exitCode(err)
	// Drivers may quote the DSN, password included, in their errors.
	fmt.Fprintf(c.stderr, "auditctl: %s: %s\n", c.cmd, clean(dsn.Redact(err.Error(), c.db)))
	if code == exitUsage {
		fmt.Fprintf(c.stderr, "run 'auditctl %s -h' for usage\n", c.cmd)
	}
	return code
}

func exitCode(err error) int {
	var e *exitError
	switch {
	case errors.As(err, &e):
		return e.code
	case errors.Is(err, analysis.ErrInvalidRequest), errors.Is(err, audit.ErrInvalidCursor),
		errors.Is(err, audit.ErrInvalidOptions), errors.Is(err, settings.ErrInvalidPolicy):
		return exitUsage
	case errors.Is(err, pgsettings.ErrNoVersion):
		return exitNotFound
	}
	return exitFailure
}

// flagSet returns the flag set of the current command, with the global
// flags.
func (c *cli) flagSet(args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("auditctl "+c.cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := c.stdout
		line := "auditctl " + c.cmd + " [flags] " + args
		if strings.Contains(args, "[flags]") {
			line = "auditctl " + c.cmd + " " + args
		}
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", strings.TrimSpace(line), summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintln(w, "\nExit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 database not migrated.")
	}
	c.globalFlags(fs)
	return fs
}

// parse parses args with fs, flags and positional arguments in any order
// ("activity query:q-1 --json" as "activity --json query:q-1"), and
// returns the positional ones. "--" ends the flags.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) { // fs.Parse printed the usage
				return nil, errHelp
			}
			return nil, usageErrorf("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stopped at a positional argument, or after "--", which
		// ends the flags.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
