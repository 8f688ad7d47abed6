package driver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Registry caches the ids of the event_types and event_parameters rows, and
// the sessions already recorded in users_sessions, so that a batch of known
// types, params and sessions costs no registry query. It is safe for
// concurrent use.
//
// New rows are created race-free across processes: each gets a deterministic
// id ([TypeKey.ID], [ParamKey.ID]) and is inserted with ON CONFLICT DO
// NOTHING in its own statement, outside the batch's transaction, so the cache
// only ever holds committed rows; when the insert did nothing (another process
// won, or a row with another id already had the key) the row is read back by
// its key.
type Registry struct {
	mu       sync.RWMutex
	types    map[TypeKey]uuid.UUID
	params   map[ParamKey]uuid.UUID
	sessions map[uuid.UUID]struct{}
	users    map[string]struct{} // by the logged user id
	maxSess  int
}

// NewRegistry returns an empty registry that remembers at most maxSessions
// sessions (it forgets them all when full; forgetting costs one upsert).
func NewRegistry(maxSessions int) *Registry {
	return &Registry{
		types:    make(map[TypeKey]uuid.UUID),
		params:   make(map[ParamKey]uuid.UUID),
		sessions: make(map[uuid.UUID]struct{}),
		users:    make(map[string]struct{}),
		maxSess:  maxSessions,
	}
}

// Resolve fills in the TypeID of every row and the ParameterID of every
// value, creating the registry rows that do not exist yet through db (which
// must not be a transaction that may roll back).
func (r *Registry) Resolve(ctx context.Context, d Dialect, db sqlx.QueryerContext, rows []EventRow) error {
	r.mu.RLock()
	missing := false
	for i := range rows {
		row := &rows[i]
		id, ok := r.types[row.Type]
		if !ok {
			missing = true
			break
		}
		row.TypeID = id
		for j := range row.Values {
			v := &row.Values[j]
			v.Param.TypeID = id
			pid, ok := r.params[v.Param]
			if !ok {
				missing = true
				break
			}
			v.ParameterID = pid
		}
		if missing {
			break
		}
	}
	r.mu.RUnlock()
	if !missing {
		return nil
	}
	for i := range rows {
		row := &rows[i]
		id, err := r.typeID(ctx, d, db, row.Type)
		if err != nil {
			return err
		}
		row.TypeID = id
		for j := range row.Values {
			v := &row.Values[j]
			v.Param.TypeID = id
			if v.ParameterID, err = r.paramID(ctx, d, db, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Registry) typeID(ctx context.Context, d Dialect, db sqlx.QueryerContext, k TypeKey) (uuid.UUID, error) {
	r.mu.RLock()
	id, ok := r.types[k]
	r.mu.RUnlock()
	if ok {
		return id, nil
	}
	text, raw := EncodeText(k.Type)
	var fp any
	where := "friendly_name = ? AND source = ?"
	args := []any{text, k.Level.String()}
	if k.Fingerprint != "" {
		fp = k.Fingerprint
		where += " AND error_stack_trace_hash = ?"
		args = append(args, k.Fingerprint)
	} else {
		where += " AND error_stack_trace_hash IS NULL"
	}
	if raw != nil {
		where += " AND friendly_name_raw = ?"
		args = append(args, raw)
	} else {
		where += " AND friendly_name_raw IS NULL"
	}
	insert := "INSERT INTO " + d.Table(TableEventTypes) +
		" (id, name, friendly_name, friendly_name_raw, source, is_error, error_stack_trace_hash) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"
	id, err := insertOrSelect(ctx, d, db, insert,
		[]any{d.UUIDArg(k.ID()), text, text, RawArg(raw), k.Level.String(), k.Level == audit.LevelError, fp},
		"SELECT id FROM "+d.Table(TableEventTypes)+" WHERE "+where, args)
	if err != nil {
		return uuid.Nil, fmt.Errorf("event type %q: %w", k.Type, err)
	}
	r.mu.Lock()
	r.types[k] = id
	r.mu.Unlock()
	return id, nil
}

func (r *Registry) paramID(ctx context.Context, d Dialect, db sqlx.QueryerContext, v *ValueRow) (uuid.UUID, error) {
	k := v.Param
	r.mu.RLock()
	id, ok := r.params[k]
	r.mu.RUnlock()
	if ok {
		return id, nil
	}
	where := "event_type_id = ? AND name = ? AND type = ?"
	args := []any{d.UUIDArg(k.TypeID), v.NameText, k.Kind.String()}
	if v.NameRaw != nil {
		where += " AND name_raw = ?"
		args = append(args, v.NameRaw)
	} else {
		where += " AND name_raw IS NULL"
	}
	insert := "INSERT INTO " + d.Table(TableEventParameters) +
		" (id, event_type_id, name, name_raw, type) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"
	id, err := insertOrSelect(ctx, d, db, insert,
		[]any{d.UUIDArg(k.ID()), d.UUIDArg(k.TypeID), v.NameText, RawArg(v.NameRaw), k.Kind.String()},
		"SELECT id FROM "+d.Table(TableEventParameters)+" WHERE "+where, args)
	if err != nil {
		return uuid.Nil, fmt.Errorf("event parameter %q: %w", k.Name, err)
	}
	r.mu.Lock()
	r.params[k] = id
	r.mu.Unlock()
	return id, nil
}

// insertOrSelect runs insert (which returns the id of the row it made, or
// nothing on conflict) and, when it made none, sel. Each statement sees the
// rows committed before it started, so a row that a concurrent insert
// committed is found by the next try.
func insertOrSelect(ctx context.Context, d Dialect, db sqlx.QueryerContext, insert string, insArgs []any, sel string, selArgs []any) (uuid.UUID, error) {
	insert = Rebind(d, insert)
	sel = Rebind(d, sel)
	for range 3 {
		var id uuid.UUID
		err := db.QueryRowxContext(ctx, insert, insArgs...).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return uuid.Nil, err
		}
		err = db.QueryRowxContext(ctx, sel, selArgs...).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return uuid.Nil, err
		}
	}
	return uuid.Nil, errors.New("driver: registry row vanished while being created")
}

// SessionRow is a users_sessions row to record: one per session id of a
// batch, with the earliest event time and the first user id seen.
type SessionRow struct {
	ID      uuid.UUID
	Key     TextPair
	User    TextPair
	Started time.Time
	IP      string
}

// NewSessions returns the sessions of rows that the registry does not know
// yet, sorted by id (so that concurrent inserts lock rows in one order): a
// stored session is never rewritten ([SessionsInsert]). Call [Registry.SessionsDone]
// once they are stored.
func (r *Registry) NewSessions(rows []EventRow) []SessionRow {
	var out []SessionRow
	idx := map[uuid.UUID]int{}
	r.mu.RLock()
	for i := range rows {
		row := &rows[i]
		if !row.HasSession {
			continue
		}
		if _, ok := r.sessions[row.SessionID]; ok {
			continue
		}
		if j, ok := idx[row.SessionID]; ok {
			s := &out[j]
			if row.Time.Before(s.Started) {
				s.Started = row.Time
			}
			if s.User.empty() {
				s.User = row.User
			}
			if s.IP == "" {
				s.IP = row.IP
			}
			continue
		}
		idx[row.SessionID] = len(out)
		out = append(out, SessionRow{ID: row.SessionID, Key: row.Session, User: row.User, Started: row.Time, IP: row.IP})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b SessionRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// SessionsDone records that the sessions are stored.
func (r *Registry) SessionsDone(sessions []SessionRow) {
	if len(sessions) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions)+len(sessions) > r.maxSess {
		clear(r.sessions)
	}
	for _, s := range sessions {
		r.sessions[s.ID] = struct{}{}
	}
}

// Forget empties the cache, for when the tables were changed behind the
// store's back.
func (r *Registry) Forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.types)
	clear(r.params)
	clear(r.sessions)
	clear(r.users)
}

// NewUsers returns the users of rows that the registry has not recorded
// yet, each with the time of its earliest event in rows, sorted by id. Call
// [Registry.UsersDone] once they are stored ([InsertUsers]).
func (r *Registry) NewUsers(rows []EventRow) []UserRow {
	var out []UserRow
	var idx map[string]int
	r.mu.RLock()
	for i := range rows {
		row := &rows[i]
		if row.User.empty() {
			continue
		}
		// The cache is keyed by the stored text pair's text when there
		// is no raw form (the usual case), to cost no decoding or hashing.
		key := row.User.Text
		if row.User.Raw != nil {
			key = row.User.String()
		}
		if _, seen := r.users[key]; seen {
			continue
		}
		if idx == nil {
			idx = map[string]int{}
		}
		if j, ok := idx[key]; ok {
			if row.Time.Before(out[j].Joined) {
				out[j].Joined = row.Time
			}
			continue
		}
		id, _ := UserUUID(row.User.String())
		idx[key] = len(out)
		out = append(out, UserRow{ID: id, Key: row.User, Joined: row.Time})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b UserRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// UsersDone records that the users are stored.
func (r *Registry) UsersDone(users []UserRow) {
	if len(users) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.users)+len(users) > r.maxSess {
		clear(r.users)
	}
	for _, u := range users {
		key := u.Key.Text
		if u.Key.Raw != nil {
			key = u.Key.String()
		}
		r.users[key] = struct{}{}
	}
}
