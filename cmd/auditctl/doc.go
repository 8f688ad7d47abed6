// Command auditctl asks an audit log the questions it is kept for, from the
// command line: each question of package analysis is a subcommand, beside
// migrate (the tables), retention (what outlived its period), settings (who
// gets what logged) and hash (to search for a value redacted with an HMAC
// key).
//
//	auditctl [--db PATH_OR_DSN] [--schema NAME] COMMAND [flags] [args]
//
// # Database
//
// --db (or $AUDIT_DB) is a Postgres URL (postgres://, postgresql://) or
// key=value DSN (one with host= or dbname=), or else the path of a SQLite
// file. --schema (or $AUDIT_SCHEMA) is the Postgres schema of the audit
// tables, public by default. The questions only read: the database must
// exist and hold the audit tables, up to date (exit 4 otherwise), and it is
// never migrated nor written (collect writes, and migrates a SQLite file); a SQLite file is opened read-only, so a
// question never waits for a writer's lock. The global flags are also
// accepted after the command. A malformed Postgres DSN is a usage error
// (exit 2). No output, help or error message shows a DSN's password: it is
// printed as xxxxx. --groups FILE gives the groups of users ({"alice":
// ["analysts"]}), which events do not record: the --group flag of the
// questions and the group split of patterns use it, and the store's
// directory (users and groups recorded through audit.Directory) too. Every
// question over the events takes --user, --group and --level (the scope of
// package analysis).
//
// # Commands
//
//	activity OBJECT   the events that name an object, newest first (7 days)
//	usage [OBJECT]    event counts by record type, user and day (7 days)
//	feed              the newest events, filtered by --level, --type, --user, --group;
//	                  a page at a time (--after), every one (--all), or followed (-f)
//	overview          active and new users, sessions, events, errors, with the previous window
//	functions         function calls: per function, per user and time, and each call
//	errors            errors by stack fingerprint, and the actions that lead to them
//	perf              p50/p95/p99 durations per record type and HTTP route
//	patterns          clusters of users by usage (30 days)
//	unused            the least used record types and menu items (30 days)
//	history OBJECT    an object's origin, modifications and derivations (exit 3: never named)
//	serve             the dashboard in the browser (package dashboard), read-only, on
//	                  --addr (default 127.0.0.1:8080); off loopback a --token is required
//	                  (generated and printed when not given); SIGINT stops it. --settings
//	                  shows the Postgres settings (effective per user, rules, history);
//	                  --settings-write also edits and reverts them, attributed to --by
//	migrate           create or update the tables; --print prints the SQL instead;
//	                  --grant-writer ROLE (INSERT, SELECT), --grant-reader ROLE (SELECT);
//	                  --partition converts unpartitioned Postgres tables, live
//	retention         delete the events older than their level's period (audit 365 days,
//	                  error/warning/info/usage 183, debug 30; --keep LEVEL=DAYS) with
//	                  their values, and idle sessions and users; --dry-run counts them.
//	                  On Postgres the periods are the current settings version's when
//	                  the schema keeps settings (--keep overrides), and the rollups of
//	                  the days expired are rolled up again
//	settings show|set|history|revert|effective
//	                  the logger settings kept in Postgres (settings/pgsettings);
//	                  a SQLite database has none (exit 2)
//	verify            check the digest chain (package chain): each problem with its kind,
//	                  writer, seq and event id; --since T, --key FILE (Ed25519 PEM or HMAC),
//	                  --checkpoint FILE (detects a chain cut short or rewritten), --json
//	collect           write the events services publish to a JetStream stream
//	                  (package export/jetstream) to the database: --from nats://...,
//	                  --stream, --consumer (shared by collectors), --to DSN or file;
//	                  logs progress and lag to stderr, stops on SIGINT/SIGTERM (exit 0)
//	hash [VALUE]      the "hmac-sha256:<hex>" that replaces VALUE in events redacted
//	                  with audit.Redact.HMACKey; the key from --key-file or
//	                  $AUDIT_HMAC_KEY, VALUE from stdin when not given
//
// Objects are kind:id (query:q-42), or an id of any kind (q-42; :id for an
// id that holds a colon). --since and --until take RFC 3339 times, dates
// (2026-11-01, UTC) and durations before now with days (90m, 36h, 7d,
// 1d12h). 'auditctl COMMAND -h' lists a command's flags.
//
// # Output
//
// Text tables by default: times in UTC, long cells cut with "…", control
// and format characters of logged keys and values escaped Go-style
// (\x1b, \u202e) so that they cannot drive the terminal, and overview's
// levels table only the buckets with events. Every question also takes:
//
//   - --json: the analysis result as JSON, in the style of the event's one
//     JSON shape (see package audit, section JSON): snake_case names,
//     times RFC 3339, durations in milliseconds (names ending _ms), levels
//     by name, events as audit.Event.MarshalJSON writes them, params as
//     objects. Overview's metrics carry their change (0.5 is +50%), null
//     when it is infinite (nothing in the previous window). feed --all and
//     feed -f print one event per line (JSON lines).
//   - --csv: one table, with a header row of snake_case names (user_id and
//     session_id as in JSON): the first of the command, or the one --table
//     names (--table also picks the table shown in text). Times RFC 3339, durations in milliseconds
//     (columns ending _ms; empty when not measured), params a JSON object,
//     an infinite change empty.
//
// feed --all pages through every matching event (1000 a page), streaming
// them; when stderr is a terminal it draws a progress bar there, with the
// total when it can be counted (filters of time and type only).
// feed -f prints the last events, then each new one, until interrupted
// (SIGINT or SIGTERM: exit 0).
//
// # Exit codes
//
//	0  ok
//	1  failure: the database cannot be reached or opened, a query failed
//	2  usage: bad flags or arguments, a malformed DSN, an invalid policy,
//	   settings asked of SQLite
//	3  not found: history of an object no event names, settings show with no
//	   version stored, settings revert to no such version
//	4  the database has not the audit tables, or old ones: run auditctl migrate
//	5  verify found a problem: an event modified, deleted or inserted, a
//	   record missing, altered or badly signed, a checkpoint not matched
//
// Errors go to stderr as "auditctl: COMMAND: message".
package main
