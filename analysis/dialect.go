package analysis

import (
	"fmt"
	"time"

	"github.com/auditkit/audit/internal/pgerr"
	"github.com/auditkit/audit/internal/sqliteerr"
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
	// bucket returns the SQL expression of the start of the time bucket of
	// the given width that holds the timestamp column col, buckets starting
	// at multiples of the width since the Unix epoch. Its value scans with
	// [sqlstore.ScanTime].
	bucket(col string, width time.Duration) string
	// castInt returns the SQL expression of the text expr cast to a 64-bit
	// integer (for params such as status, stored as text).
	castInt(expr string) string
	// castFloat returns the SQL expression of the text expr cast to a
	// double precision number.
	castFloat(expr string) string
	// sqlPercentiles reports whether the database computes percentiles
	// (Postgres's percentile_cont); when it does not (SQLite), the
	// durations are read in order and [percentile] computes them in Go, with
	// the same linear interpolation.
	sqlPercentiles() bool
	// translate turns a driver error into one of the module's (wrapping
	// audit.ErrUnavailable when the database could not be reached), with
	// the prefix "analysis: op: ".
	translate(op string, err error) error
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

// bucket uses date_bin (Postgres 14 and later), which is several times
// cheaper than arithmetic on extract(epoch ...), a numeric.
func (postgresDialect) bucket(col string, width time.Duration) string {
	return fmt.Sprintf("date_bin('%d microseconds', %s, '1970-01-01 00:00:00+00'::timestamptz)", width.Microseconds(), col)
}

func (postgresDialect) castInt(expr string) string { return "CAST(" + expr + " AS bigint)" }
func (postgresDialect) castFloat(expr string) string {
	return "CAST(" + expr + " AS double precision)"
}
func (postgresDialect) sqlPercentiles() bool { return true }
func (postgresDialect) translate(op string, err error) error {
	return pgerr.Translate("analysis", op, err)
}

// sqliteDialect is SQLite: ids as 16-byte BLOBs, times as INTEGER
// microseconds since the Unix epoch; no percentile aggregate.
type sqliteDialect struct{}

func (sqliteDialect) BindType() int            { return sqlx.QUESTION }
func (sqliteDialect) Table(name string) string { return `"` + name + `"` }
func (sqliteDialect) TimeArg(t time.Time) any  { return t.UnixMicro() }
func (sqliteDialect) UUIDArg(id uuid.UUID) any { return id[:] }

// bucket floors the microseconds to a multiple of the width (also before
// 1970, where % is negative).
func (sqliteDialect) bucket(col string, width time.Duration) string {
	w := width.Microseconds()
	return fmt.Sprintf("(%s - ((%s %% %d) + %d) %% %d)", col, col, w, w, w)
}
func (sqliteDialect) castInt(expr string) string   { return "CAST(" + expr + " AS INTEGER)" }
func (sqliteDialect) castFloat(expr string) string { return "CAST(" + expr + " AS REAL)" }
func (sqliteDialect) translate(op string, err error) error {
	return sqliteerr.Translate("analysis", op, err)
}
func (sqliteDialect) sqlPercentiles() bool { return false }
