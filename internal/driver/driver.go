package driver

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Dialect is how one database speaks SQL: everything the shared statements
// of this package, the migrator and the analysis queries do differently per
// database. Each driver package (driver/pg, driver/sqlite) implements it.
type Dialect interface {
	// BindType is the driver's placeholder style, as [sqlx.BindType]
	// returns it (sqlx.DOLLAR for Postgres, sqlx.QUESTION for SQLite).
	BindType() int
	// Table returns the quoted (and, where the store has a schema,
	// qualified) name of one of the tables.
	Table(name string) string
	// TimeArg and UUIDArg return times and ids as query arguments.
	TimeArg(time.Time) any
	UUIDArg(uuid.UUID) any
	// Bucket returns the SQL expression of the start of the time bucket of
	// the given width that holds the timestamp column col, buckets starting
	// at multiples of the width since the Unix epoch. Its value scans with
	// [ScanTime].
	Bucket(col string, width time.Duration) string
	// CastInt returns the SQL expression of the text expr cast to a 64-bit
	// integer.
	CastInt(expr string) string
	// CastFloat returns the SQL expression of the text expr cast to a
	// double precision number.
	CastFloat(expr string) string
	// SQLPercentiles reports whether the database computes percentiles
	// (percentile_cont); when it does not, callers read the values in order
	// and interpolate in Go.
	SQLPercentiles() bool
	// Cursors reports whether the database streams a query through a
	// server-side cursor (DECLARE, FETCH) so that several queries advance
	// together in one transaction; when it does not, their rows are stepped
	// side by side.
	Cursors() bool
	// ValueTimes reports whether the values table has the event's time
	// (event_time, the Postgres partition key) and the object index of
	// migration 0008: then a lookup of the values of an object bounds the
	// time there too, and finds its events by their primary key
	// (event_time, id).
	ValueTimes() bool
	// Translate turns an error of the database driver into one of the audit
	// module's, prefixed "pkg: op: ": it wraps audit.ErrUnavailable when the
	// database could not be reached or locked (worth retrying),
	// audit.ErrConflict for a constraint violation, and marks input the
	// database will never accept with audit.Permanent. The driver's own
	// error stays reachable with errors.As. A nil err is nil.
	Translate(pkg, op string, err error) error
}

// DB is a connection pool and the dialect it speaks: what readers (the
// stores' Read, the analysis package) query through.
type DB struct {
	*sqlx.DB
	Dialect
}

// SQL returns query with its {table} names qualified and its ? placeholders
// in the dialect's style.
func (db DB) SQL(query string) string {
	return Rebind(db.Dialect, tableNames(db.Dialect).Replace(query))
}

// Tables are the tables (and views) a query may name as {table} in [DB.SQL].
var Tables = []string{TableEvents, TableEventTypes, TableEventParameters, TableValues, TableSessions, TableUsers, TableGroups, TableGroupsRelations,
	TableUsersHistory, TableGroupsHistory, TableRelationsHistory, ViewUsers, ViewGroups, ViewRelations,
	TableRollupState, TableRollupTypes, TableRollupUsers, TableRollupUserTypes, TableRollupSessions, TableRollupErrors, TableRollupMenu, TableRollupRoutes}

func tableNames(d Dialect) *strings.Replacer {
	pairs := make([]string, 0, 2*len(Tables))
	for _, t := range Tables {
		pairs = append(pairs, "{"+t+"}", d.Table(t))
	}
	return strings.NewReplacer(pairs...)
}

// Rebind turns the ? placeholders of query into d's.
func Rebind(d Dialect, query string) string {
	if d.BindType() == sqlx.QUESTION {
		return query
	}
	return sqlx.Rebind(d.BindType(), query)
}

// Placeholders returns n comma-separated ? placeholders.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// A finder returns the database of a store value, if it knows its type.
type finder func(store any) (DB, bool)

var (
	findersMu sync.RWMutex
	finders   []finder
)

// Register makes the databases of the store type S known to [Find]: db
// returns the database of a store. Each store package registers its own
// type when it is initialized, so that a reader of stores (the analysis
// package) reaches a store's database without importing the store's
// package: a program links only the drivers of the stores it imports.
func Register[S comparable](db func(S) DB) {
	findersMu.Lock()
	defer findersMu.Unlock()
	finders = append(finders, func(store any) (DB, bool) {
		s, ok := store.(S)
		var zero S
		if !ok || s == zero {
			return DB{}, false
		}
		return db(s), true
	})
}

// Find returns the database of a store registered with [Register]. It is an
// error for a store that has none (the memory store, or a type of another
// module).
func Find(store any) (DB, error) {
	findersMu.RLock()
	defer findersMu.RUnlock()
	for _, f := range finders {
		if db, ok := f(store); ok {
			return db, nil
		}
	}
	return DB{}, fmt.Errorf("%T is not a SQL store of this module", store)
}
