package pg

import (
	"fmt"
	"hash/fnv"

	"github.com/lib/pq"
)

// Settings holds the statements of the table of log settings versions
// (settings/pgsettings): one row per version, numbered in commit order.
type Settings struct {
	schema string // raw
	table  string // quoted schema.table
}

// SettingsTable is the name of the table of settings versions.
const SettingsTable = "log_settings_versions"

// NewSettings returns the statements of table in schema.
func NewSettings(schema, table string) Settings {
	return Settings{schema: schema, table: Quote(schema) + "." + Quote(table)}
}

// LockKey is the advisory lock that serializes the creation of the table
// and the changes of the settings in one schema.
func (s Settings) LockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/auditkit/audit/settings/pgsettings " + s.schema))
	return int64(h.Sum64())
}

// Lock takes [Settings.LockKey] for the transaction.
func (s Settings) Lock() string { return fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", s.LockKey()) }

// Create returns the statements that create the schema and the table when
// missing, to run in one transaction after [Settings.Lock].
func (s Settings) Create() []string {
	return []string{
		"CREATE SCHEMA IF NOT EXISTS " + Quote(s.schema),
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (
			version    bigserial PRIMARY KEY,
			policy     jsonb NOT NULL,
			changed_by text NOT NULL DEFAULT '',
			changed_at timestamptz NOT NULL DEFAULT now(),
			comment    text NOT NULL DEFAULT '',
			revert_of  bigint
		)`,
	}
}

// Exists selects whether the table exists: a role that may only insert
// and select (postgres.AccessWriter) cannot run [Settings.Create], even when
// the table is there.
func (s Settings) Exists() string {
	return "SELECT to_regclass(" + pq.QuoteLiteral(s.table) + ") IS NOT NULL"
}

// Current selects the version and policy of the newest version.
func (s Settings) Current() string {
	return "SELECT version, policy FROM " + s.table + " ORDER BY version DESC LIMIT 1"
}

// Policy selects the policy of version $1.
func (s Settings) Policy() string { return "SELECT policy FROM " + s.table + " WHERE version = $1" }

// Insert adds a version (policy, changed_by, comment, revert_of) and
// returns its version, policy and changed_at.
func (s Settings) Insert() string {
	return "INSERT INTO " + s.table + " (policy, changed_by, comment, revert_of) VALUES ($1, $2, $3, $4) RETURNING version, policy, changed_at"
}

// Notify announces a change on channel $1 with the schema as payload ($2).
func (s Settings) Notify() string { return "SELECT pg_notify($1, $2)" }

// History selects the versions newest first, at most limit (all when 0).
func (s Settings) History(limit int) string {
	q := "SELECT version, policy, changed_by, changed_at, comment, revert_of FROM " + s.table + " ORDER BY version DESC"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return q
}
