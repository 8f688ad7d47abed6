package analysis

import (
	"time"

	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// dialect is everything the analysis queries do differently per database.
// The queries themselves are shared and use only what Postgres and SQLite
// both have (window functions, CASE, count(DISTINCT ...), integer
// division); what they do not share is here.
type dialect interface {
	sqlstore.Dialect
	// micros returns the SQL expression of the timestamp column col as
	// microseconds since the Unix epoch (an integer), for time buckets.
	micros(col string) string
	// castInt returns the SQL expression of the text expr cast to a 64-bit
	// integer (for params such as status, stored as text).
	castInt(expr string) string
	// sqlPercentiles reports whether the database computes percentiles
	// (Postgres's percentile_cont); when it does not (SQLite), the
	// durations are read in order and [percentile] computes them in Go, with
	// the same linear interpolation.
	sqlPercentiles() bool
}

// postgresDialect is Postgres: timestamptz columns, percentile_cont.
type postgresDialect struct{ schema string }

func newPostgresDialect(schema string) postgresDialect {
	return postgresDialect{schema: pq.QuoteIdentifier(schema)}
}

func (postgresDialect) BindType() int              { return sqlx.DOLLAR }
func (d postgresDialect) Table(name string) string { return d.schema + "." + pq.QuoteIdentifier(name) }
func (postgresDialect) TimeArg(t time.Time) any    { return t }
func (postgresDialect) UUIDArg(id uuid.UUID) any   { return id.String() }
func (postgresDialect) micros(col string) string {
	return "(extract(epoch from " + col + ") * 1000000)::bigint"
}
func (postgresDialect) castInt(expr string) string { return "CAST(" + expr + " AS bigint)" }
func (postgresDialect) sqlPercentiles() bool       { return true }
