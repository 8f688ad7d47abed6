// Package pgsettings keeps the logger settings of package settings in
// Postgres: the current policy and every earlier version, with who changed
// it, when and why; history and revert; and the effective settings of a
// subject. A change made by one process reaches every process that uses the
// same database within a second.
//
// # Use
//
//	engine, _ := settings.New(settings.Config{}, settings.Options{}) // Standard until a version is read
//	logger, _ := audit.New(audit.Options{Store: store, Policy: engine})
//	src, err := pgsettings.Open(ctx, dsn, engine, pgsettings.Options{Schema: "audit", Logger: logger})
//	...
//	v, err := src.Set(ctx, policy, "alice", "verbose for bob until the incident is closed")
//	x := src.Effective(audit.Subject{UserID: "bob", Groups: []string{"devs"}})
//	fmt.Println(x.Why(audit.LevelDebug, ""))
//
// # Storage
//
// The table log_settings_versions, in the schema of Options.Schema (the
// audit tables' schema is the natural choice), holds one row per version:
// version (bigserial, in commit order), policy (jsonb, the JSON of
// [settings.Config]), changed_by, changed_at, comment, and revert_of (the
// version a revert restored). The current policy is the highest version.
// [Open] creates the schema and the table when missing, under an advisory
// lock, so many processes may start at once. A role that may not create
// tables opens a table that exists: store/postgres's Grant creates it, so
// its Writer role stores versions, reverts and reads the history, and
// cannot change or delete a version; its Reader role reads them.
//
// # Propagation
//
// [Source.Set] and [Source.Revert] insert a version and, in the same
// transaction, NOTIFY the channel audit_log_settings with the schema's name.
// Every Source listening on the database re-reads the current version on
// that notification, after its listening connection reconnects (when
// notifications may have been lost), and every PollInterval as a fallback.
// Each change made through a Source is also recorded as an audit event of
// type log-settings-changed, attributed to the user who made it, when
// Options.Logger is set.
//
// # Failures
//
// A broken update never stops logging: a version that cannot be parsed or
// validated (written by hand, or by a newer release) is reported to
// OnError, once, and the policy in force stays until a good version
// arrives. Lost connections are reported and retried. Driver errors are
// translated: connection failures wrap [audit.ErrUnavailable].
package pgsettings
