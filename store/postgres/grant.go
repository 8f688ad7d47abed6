package postgres

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/auditkit/audit/internal/driver/pg"
)

// Access is what [Store.Grant] lets a role do with the audit tables.
type Access int

const (
	// AccessReader may read every table (SELECT): auditctl's read commands,
	// analysis and the dashboard need nothing more.
	AccessReader Access = iota + 1
	// AccessWriter may add rows (INSERT) and read them back (SELECT) and nothing
	// else: the store's whole write path (events, values, types, params,
	// sessions, users and groups seen in events, the directory of
	// [Store.PutUser], [Store.PutGroup] and [Store.SetMembers], settings
	// history) only inserts, so an audit trail written by this role cannot
	// be changed or deleted through it. Migrations create tables and
	// retention deletes: run those as the schema's owner.
	AccessWriter
)

// String returns "reader" or "writer".
func (a Access) String() string {
	switch a {
	case AccessReader:
		return "reader"
	case AccessWriter:
		return "writer"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Grant gives role the access to every table (and sequence) now in the
// store's schema, and USAGE on the schema, in one transaction. It first
// creates the table of the settings history (settings/pgsettings) when
// missing, which the role cannot create itself: a writer may then store
// settings versions (and revert, and read the history), a reader read them.
// Tables and
// sequences the same user creates in the schema later (a migration's, a
// partition) get the same grants (ALTER DEFAULT PRIVILEGES). Run it as the
// owner after [Store.Migrate]. It
// returns an error when the role does not exist; the role name is quoted, so
// any name is safe.
func (s *Store) Grant(ctx context.Context, role string, a Access) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	var tables, sequences string
	switch a {
	case AccessReader:
		tables, sequences = "SELECT", "SELECT"
	case AccessWriter:
		tables, sequences = "SELECT, INSERT", "USAGE, SELECT"
	default:
		return fmt.Errorf("postgres: grant: unknown access %d", int(a))
	}
	tx, err := s.conn.DB().BeginTxx(ctx, nil)
	if err != nil {
		return translate("grant", err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.GetContext(ctx, &exists, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role); err != nil {
		return translate("grant", err)
	}
	if !exists {
		return fmt.Errorf("postgres: grant %s: role %q does not exist", a, role)
	}
	r, schema := pq.QuoteIdentifier(role), pq.QuoteIdentifier(s.opts.Schema)
	st := pg.NewSettings(s.opts.Schema, pg.SettingsTable)
	stmts := append([]string{st.Lock()}, st.Create()...)
	for _, stmt := range append(stmts,
		"GRANT USAGE ON SCHEMA "+schema+" TO "+r,
		"GRANT "+tables+" ON ALL TABLES IN SCHEMA "+schema+" TO "+r,
		"GRANT "+sequences+" ON ALL SEQUENCES IN SCHEMA "+schema+" TO "+r,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA "+schema+" GRANT "+tables+" ON TABLES TO "+r,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA "+schema+" GRANT "+sequences+" ON SEQUENCES TO "+r,
	) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return translate("grant "+a.String(), err)
		}
	}
	return translate("grant", tx.Commit())
}
