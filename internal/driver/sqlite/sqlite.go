// Package sqlite is the SQLite driver of the audit stores
// (modernc.org/sqlite, pure Go): every SQL statement SQLite runs for
// store/sqlite, the analysis package and auditctl, its connection
// parameters, its argument style and its error translation.
package sqlite

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Dialect is SQLite's [driver.Dialect]: ids as their 16 bytes (a BLOB,
// which SQLite orders bytewise, as audit.CompareIDs does), times as integer
// microseconds since the Unix epoch, no percentile aggregate.
type Dialect struct{}

var _ driver.Dialect = Dialect{}

// BindType implements [driver.Dialect]: ?.
func (Dialect) BindType() int { return sqlx.QUESTION }

// Table implements [driver.Dialect]: the quoted name.
func (Dialect) Table(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// TimeArg implements [driver.Dialect].
func (Dialect) TimeArg(t time.Time) any { return t.UnixMicro() }

// UUIDArg implements [driver.Dialect].
func (Dialect) UUIDArg(id uuid.UUID) any { return id[:] }

// Bucket implements [driver.Dialect]: it floors the microseconds to a
// multiple of the width (also before 1970, where % is negative).
func (Dialect) Bucket(col string, width time.Duration) string {
	w := width.Microseconds()
	return fmt.Sprintf("(%s - ((%s %% %d) + %d) %% %d)", col, col, w, w, w)
}

// CastInt implements [driver.Dialect].
func (Dialect) CastInt(expr string) string { return "CAST(" + expr + " AS INTEGER)" }

// CastFloat implements [driver.Dialect].
func (Dialect) CastFloat(expr string) string { return "CAST(" + expr + " AS REAL)" }

// SQLPercentiles implements [driver.Dialect]: SQLite has none.
func (Dialect) SQLPercentiles() bool { return false }

// ValueTimes implements [driver.Dialect]: the values table has no time.
func (Dialect) ValueTimes() bool { return false }

// Cursors implements [driver.Dialect]: a connection steps several
// statements at once.
func (Dialect) Cursors() bool { return false }

// Translate implements [driver.Dialect]; see the function [Translate].
func (Dialect) Translate(pkg, op string, err error) error { return Translate(pkg, op, err) }

// Connection modes of [Open].
const (
	// ModeWrite is the one connection that writes: WAL journal, foreign
	// keys, and the write lock taken when a transaction begins
	// (_txlock=immediate), so it waits for another process's write on the
	// busy timeout instead of failing when a read would turn into a write.
	ModeWrite = iota
	// ModeRead is a connection of the store's reading pool: query_only.
	ModeRead
	// ModeReadOnly opens the file read-only (mode=ro): it never creates
	// the file, never takes the write lock and never changes the journal
	// mode.
	ModeReadOnly
)

// Params are the connection parameters of [Open].
type Params struct {
	// BusyTimeout is how long a statement waits for a lock.
	BusyTimeout time.Duration
	// RelaxedSync sets synchronous=NORMAL instead of FULL (writer only).
	RelaxedSync bool
}

// Open opens the file at the absolute path abs in the given mode.
func Open(abs string, mode int, p Params) (*sqlx.DB, error) {
	q := "_pragma=busy_timeout(" + strconv.FormatInt(p.BusyTimeout.Milliseconds(), 10) + ")"
	switch mode {
	case ModeWrite:
		sync := "FULL"
		if p.RelaxedSync {
			sync = "NORMAL"
		}
		q += "&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")&_pragma=foreign_keys(on)&_txlock=immediate"
	case ModeRead:
		q += "&_pragma=query_only(1)"
	case ModeReadOnly:
		q = "mode=ro&" + q + "&_pragma=query_only(1)"
	}
	db, err := sqlx.Open("sqlite", fileURI(abs)+"?"+q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return db, nil
}

// fileURI returns the SQLite URI of the file at the absolute path abs, with
// the characters that URIs give a meaning escaped.
func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
