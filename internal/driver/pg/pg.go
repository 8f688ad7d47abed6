// Package pg is the Postgres driver of the audit stores: every SQL statement
// Postgres runs for store/postgres, the analysis package and auditctl, its
// quoting, its argument style and its error translation. It speaks through
// lib/pq (a *sqlx.DB, batches written with CopyIn) or pgx v5 (a
// *pgxpool.Pool, batches written with CopyFrom); both read through
// database/sql.
package pg

import (
	"fmt"
	"time"

	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Dialect is Postgres's [driver.Dialect] for the tables of one schema:
// timestamptz columns, uuid ids passed as text (lib/pq) or as their 16
// bytes (pgx, which encodes them in binary), percentile_cont.
type Dialect struct {
	schema string // quoted
	pgx    bool
}

var _ driver.Dialect = Dialect{}

// NewDialect returns the dialect of the tables in schema, through lib/pq.
func NewDialect(schema string) Dialect { return Dialect{schema: Quote(schema)} }

// NewPgxDialect returns the dialect of the tables in schema, through pgx.
func NewPgxDialect(schema string) Dialect { return Dialect{schema: Quote(schema), pgx: true} }

// Quote quotes an identifier (a schema or table name) for Postgres.
func Quote(name string) string { return pq.QuoteIdentifier(name) }

// BindType implements [driver.Dialect]: $1, $2, ...
func (Dialect) BindType() int { return sqlx.DOLLAR }

// Table implements [driver.Dialect]: the schema-qualified, quoted name.
func (d Dialect) Table(name string) string { return d.schema + "." + Quote(name) }

// TimeArg implements [driver.Dialect].
func (Dialect) TimeArg(t time.Time) any { return t }

// UUIDArg implements [driver.Dialect].
func (d Dialect) UUIDArg(id uuid.UUID) any {
	if d.pgx {
		// A UUIDValuer: pgx encodes it without wrapping (and allocating)
		// per value, as it does a [16]byte.
		return pgtype.UUID{Bytes: id, Valid: true}
	}
	return id.String()
}

// Bucket implements [driver.Dialect] with date_bin (Postgres 14 and later),
// which is several times cheaper than arithmetic on extract(epoch ...), a
// numeric.
func (Dialect) Bucket(col string, width time.Duration) string {
	return fmt.Sprintf("date_bin('%d microseconds', %s, '1970-01-01 00:00:00+00'::timestamptz)", width.Microseconds(), col)
}

// CastInt implements [driver.Dialect].
func (Dialect) CastInt(expr string) string { return "CAST(" + expr + " AS bigint)" }

// CastFloat implements [driver.Dialect].
func (Dialect) CastFloat(expr string) string { return "CAST(" + expr + " AS double precision)" }

// SQLPercentiles implements [driver.Dialect]: percentile_cont.
func (Dialect) SQLPercentiles() bool { return true }

// Translate implements [driver.Dialect]; see the function [Translate].
func (Dialect) Translate(pkg, op string, err error) error { return Translate(pkg, op, err) }

// ValueTimes implements [driver.Dialect]: event_parameter_values has
// event_time, its partition key.
func (Dialect) ValueTimes() bool { return true }

// Cursors implements [driver.Dialect]: one connection runs one query at a
// time, so streams read pages of cursors.
func (Dialect) Cursors() bool { return true }
