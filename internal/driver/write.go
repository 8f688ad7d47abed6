package driver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// EncodeBatch validates a batch and maps it to its rows ([EncodeEvent]). An
// id repeated in the batch is written once, as its first occurrence. An
// invalid event refuses the whole batch with an error wrapping
// [audit.ErrInvalidEvent].
func EncodeBatch(events []audit.Event) ([]EventRow, error) {
	rows := make([]EventRow, 0, len(events))
	var seen map[uuid.UUID]struct{}
	if len(events) > 1 {
		seen = make(map[uuid.UUID]struct{}, len(events))
	}
	var sessions sessionIDs
	for i := range events {
		row, err := encodeEvent(&events[i], &sessions)
		if err != nil {
			return nil, err
		}
		if seen != nil {
			if _, dup := seen[row.ID]; dup {
				continue
			}
			seen[row.ID] = struct{}{}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// SessionColumns are the users_sessions columns that [SessionsInsert] writes,
// in the order of [SessionRow.Args].
// user_id is users.id ([UserUUID]) and user_key the logged user id.
var SessionColumns = []string{"id", "user_id", "user_key", "user_key_raw", "started", "session_key", "session_key_raw", "ip"}

// SessionsPerStmt is the most rows one [SessionsInsert] statement takes (8
// placeholders each, well within every driver's limit).
const SessionsPerStmt = 1000

// SessionsInsert returns the statement that records n users_sessions rows
// (see [SessionRow.Args]). It only inserts: a session already stored is left
// as it is (ON CONFLICT DO NOTHING), so the writer needs INSERT and no UPDATE
// privilege, and a stored row is never rewritten. The first batch that meets
// a session decides its row: started is that batch's earliest event of the
// session, and user and ip its first ones. Pass the rows sorted by id (as
// [Registry.NewSessions] returns them), so that concurrent writers lock them
// in one order.
func SessionsInsert(d Dialect, n int) string {
	row := "(" + Placeholders(len(SessionColumns)) + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + d.Table(TableSessions) + " (" + strings.Join(SessionColumns, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	return Rebind(d, b.String())
}

// InsertSessions records sessions not stored yet (sorted by id, as
// [Registry.NewSessions] returns them, so that concurrent writers lock them
// in one order) with
// [SessionsInsert] statements of at most [SessionsPerStmt] rows.
func InsertSessions(ctx context.Context, d Dialect, db sqlx.ExecerContext, sessions []SessionRow) error {
	for len(sessions) > 0 {
		n := min(len(sessions), SessionsPerStmt)
		args := make([]any, 0, n*len(SessionColumns))
		for i := range sessions[:n] {
			args = append(args, sessions[i].Args(d)...)
		}
		if _, err := db.ExecContext(ctx, SessionsInsert(d, n), args...); err != nil {
			return err
		}
		sessions = sessions[n:]
	}
	return nil
}

// Args returns the row in the order of [SessionColumns].
func (r *SessionRow) Args(d Dialect) []any {
	var id, key any
	if u, ok := UserUUID(r.User.String()); ok {
		id, key = d.UUIDArg(u), r.User.Text
	}
	var ip any
	if r.IP != "" {
		ip = r.IP
	}
	return []any{d.UUIDArg(r.ID), id, key, RawArg(r.User.Raw), d.TimeArg(r.Started), r.Key.Text, RawArg(r.Key.Raw), ip}
}

// StartedType is the record type of the event that opens each session:
// Datagrok counts sessions by it.
const StartedType = "datagrok-started"

// SyntheticComment is events.comment of the events the store writes itself
// rather than the logger: Read and the analysis queries leave them out (every
// [Where] does), while SQL written for Datagrok's tables counts them.
const SyntheticComment = "synthetic"

// StartedRows returns the datagrok-started events of sessions: one per
// session, of level info, at the session's start, with its user and a
// deterministic id, so that it is written once however often the session is
// met; marked [SyntheticComment].
func StartedRows(sessions []SessionRow) []EventRow {
	rows := make([]EventRow, len(sessions))
	for i, s := range sessions {
		rows[i] = EventRow{
			ID:         StartedID(s.ID),
			Time:       s.Started,
			Type:       TypeKey{Type: StartedType, Level: audit.LevelInfo},
			SessionID:  s.ID,
			HasSession: true,
			Session:    s.Key,
			User:       s.User,
			Synthetic:  true,
		}
	}
	return rows
}

// StartedID is the id of the datagrok-started event of the session whose
// users_sessions.id is session.
func StartedID(session uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(namespace, append([]byte(StartedType+"\x00"), session[:]...))
}

// InsertEvents writes rows whose registry ids are resolved, skipping those
// already stored, with multi-row INSERTs of at most perStmt rows; rows have
// no params ([StartedRows]).
func InsertEvents(ctx context.Context, d Dialect, db sqlx.ExecerContext, rows []EventRow, perStmt int) error {
	for len(rows) > 0 {
		n := min(len(rows), perStmt)
		args := make([]any, 0, n*len(EventColumns))
		for i := range rows[:n] {
			args = append(args, rows[i].Args(d)...)
		}
		if _, err := db.ExecContext(ctx, InsertValues(d, TableEvents, EventColumns, n, "ON CONFLICT DO NOTHING"), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// UserRow is a users row that a user seen in events gets, with its personal
// group: login is the logged user id, joined the time of the first event the
// store wrote for it.
type UserRow struct {
	ID     uuid.UUID
	Key    TextPair
	Joined time.Time
}

// UsersPerStmt is the most rows one statement of [InsertUsers] writes.
const UsersPerStmt = 500

// InsertUsers records the users seen in events that have no users row yet
// (sorted by id, as [Registry.NewUsers] returns them): each gets its
// personal group and a users row whose login and user_key are the logged id.
// A user already recorded, by an event or by the host service
// ([audit.Directory]), is left as it is: the first seen wins.
func InsertUsers(ctx context.Context, d Dialect, db sqlx.ExecerContext, users []UserRow) error {
	for len(users) > 0 {
		n := min(len(users), UsersPerStmt)
		gargs := make([]any, 0, n*5)
		uargs := make([]any, 0, n*7)
		for _, u := range users[:n] {
			g := PersonalGroupUUID(u.ID)
			gargs = append(gargs, d.UUIDArg(g), u.Key.Text, true, u.Key.Text, RawArg(u.Key.Raw))
			uargs = append(uargs, d.UUIDArg(u.ID), u.Key.Text, d.UUIDArg(g), d.TimeArg(u.Joined), u.Key.Text, RawArg(u.Key.Raw))
		}
		if _, err := db.ExecContext(ctx, InsertValues(d, TableGroups, groupColumns, n, "ON CONFLICT DO NOTHING"), gargs...); err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, InsertValues(d, TableUsers, userColumns, n, "ON CONFLICT DO NOTHING"), uargs...); err != nil {
			return err
		}
		users = users[n:]
	}
	return nil
}

var (
	groupColumns = []string{"id", "name", "personal", "group_key", "group_key_raw"}
	userColumns  = []string{"id", "login", "group_id", "joined", "user_key", "user_key_raw"}
)

// InsertValues returns "INSERT INTO table (cols) VALUES (...), ..." with n
// rows of placeholders, for the stores that write batches as multi-row
// INSERTs; suffix (such as an ON CONFLICT clause) ends it.
func InsertValues(d Dialect, table string, cols []string, n int, suffix string) string {
	row := "(" + Placeholders(len(cols)) + ")"
	var b strings.Builder
	b.Grow(len(table) + 64 + n*(len(row)+2) + len(suffix))
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", d.Table(table), strings.Join(cols, ", "))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	if suffix != "" {
		b.WriteString(" " + suffix)
	}
	return Rebind(d, b.String())
}
