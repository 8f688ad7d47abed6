package driver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// PutUser records u in the users table (and its personal group), or, for
// a user already there, appends its new names, picture and joined time to
// users_history when they changed; a zero Joined keeps the stored time (now
// for a new user). It only inserts (see migration 0006: users keeps the
// first-seen row, users_latest the newest facts), in one transaction of db.
func PutUser(ctx context.Context, d Dialect, db *sqlx.DB, u audit.User, now time.Time) error {
	id, ok := UserUUID(u.ID)
	if !ok {
		return fmt.Errorf("%w: user without an id", audit.ErrInvalidDirectory)
	}
	key, login, name, pic := pair(u.ID), optText(u.Login), optText(u.FriendlyName), optText(u.Picture)
	joined, keep := u.Joined, u.Joined.IsZero()
	if keep {
		joined = now
	}
	g := PersonalGroupUUID(id)
	groupName := u.Login
	if groupName == "" {
		groupName = key.Text
	}
	groupName, _ = audit.Text(groupName)
	return inTx(ctx, db, func(tx *sqlx.Tx) error {
		if err := putGroup(ctx, d, tx, g, groupName, nil, true, true, key); err != nil {
			return err
		}
		added, err := insertNew(ctx, tx, Rebind(d, "INSERT INTO "+d.Table(TableUsers)+" (id, login, friendly_name, picture, group_id, joined, user_key, user_key_raw)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"),
			d.UUIDArg(id), login, name, pic, d.UUIDArg(g), d.TimeArg(joined), key.Text, RawArg(key.Raw))
		if err != nil || added {
			return err
		}
		var cur struct {
			login, name, pic sql.NullString
			joined           ScanTime
		}
		err = tx.QueryRowContext(ctx, Rebind(d, "SELECT login, friendly_name, picture, joined FROM "+d.Table(ViewUsers)+" WHERE id = ?"),
			d.UUIDArg(id)).Scan(&cur.login, &cur.name, &cur.pic, &cur.joined)
		if err != nil {
			return err
		}
		if keep {
			joined = cur.joined.Time
		}
		if sameText(cur.login, login) && sameText(cur.name, name) && sameText(cur.pic, pic) && cur.joined.Equal(joined.Truncate(time.Microsecond)) {
			return nil
		}
		_, err = tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableUsersHistory)+" (id, user_id, login, friendly_name, picture, joined) VALUES (?, ?, ?, ?, ?, ?)"),
			d.UUIDArg(newFactID()), d.UUIDArg(id), login, name, pic, d.TimeArg(joined))
		return err
	})
}

// PutGroup records g in the groups table, or, for a group already there,
// appends its new names to groups_history when they changed. It only
// inserts, in one transaction of db.
func PutGroup(ctx context.Context, d Dialect, db *sqlx.DB, g audit.Group) error {
	id, ok := GroupUUID(g.ID)
	if !ok {
		return fmt.Errorf("%w: group without an id", audit.ErrInvalidDirectory)
	}
	key := pair(g.ID)
	name := g.Name
	if name == "" {
		name = key.Text
	}
	name, _ = audit.Text(name)
	return inTx(ctx, db, func(tx *sqlx.Tx) error {
		return putGroup(ctx, d, tx, id, name, optText(g.FriendlyName), false, false, key)
	})
}

// putGroup inserts the group of id, or appends its name and friendly name
// (the stored one, with keepFriendly) to groups_history when either
// differs from the newest.
func putGroup(ctx context.Context, d Dialect, tx *sqlx.Tx, id uuid.UUID, name string, friendly any, keepFriendly, personal bool, key TextPair) error {
	added, err := insertNew(ctx, tx, Rebind(d, "INSERT INTO "+d.Table(TableGroups)+" (id, name, friendly_name, personal, group_key, group_key_raw) VALUES (?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (id) DO NOTHING"),
		d.UUIDArg(id), name, friendly, personal, key.Text, RawArg(key.Raw))
	if err != nil || added {
		return err
	}
	var curName string
	var curFriendly sql.NullString
	err = tx.QueryRowContext(ctx, Rebind(d, "SELECT name, friendly_name FROM "+d.Table(ViewGroups)+" WHERE id = ?"), d.UUIDArg(id)).Scan(&curName, &curFriendly)
	if err != nil {
		return err
	}
	if keepFriendly {
		friendly = nullString(curFriendly)
	}
	if curName == name && sameText(curFriendly, friendly) {
		return nil
	}
	_, err = tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableGroupsHistory)+" (id, group_id, name, friendly_name) VALUES (?, ?, ?, ?)"),
		d.UUIDArg(newFactID()), d.UUIDArg(id), name, friendly)
	return err
}

// insertNew runs an INSERT ... ON CONFLICT DO NOTHING of one row and
// reports whether it added the row.
func insertNew(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// newFactID returns the id of a history row: a UUIDv7, so that the newest
// fact has the greatest id.
func newFactID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// sameText reports whether the stored text cur is v, an [optText] (nil for
// NULL).
func sameText(cur sql.NullString, v any) bool {
	s, ok := v.(string)
	return cur.Valid == ok && cur.String == s
}

// SetMembers makes the direct members of group the personal groups of
// users and groups, refusing members never recorded and cycles (see
// [audit.Directory]). It only inserts, in one transaction: a member that
// joins gets a groups_relations row (when it has none) and a
// groups_relations_history row, one that leaves a tombstone in
// groups_relations_history; groups_relations_latest is the result.
func SetMembers(ctx context.Context, d Dialect, db *sqlx.DB, group string, users, groups []string) error {
	parent, ok := GroupUUID(group)
	if !ok {
		return fmt.Errorf("%w: group without an id", audit.ErrInvalidDirectory)
	}
	return inTx(ctx, db, func(tx *sqlx.Tx) error {
		if err := mustExist(ctx, d, tx, TableGroups, parent, "group", group); err != nil {
			return err
		}
		children := make([]uuid.UUID, 0, len(users)+len(groups))
		for _, u := range users {
			id, ok := UserUUID(u)
			if !ok {
				return fmt.Errorf("%w: group %q: a member user without an id", audit.ErrInvalidDirectory, group)
			}
			if err := mustExist(ctx, d, tx, TableUsers, id, "user", u); err != nil {
				return fmt.Errorf("group %q: %w", group, err)
			}
			children = append(children, PersonalGroupUUID(id))
		}
		for _, g := range groups {
			id, ok := GroupUUID(g)
			if !ok {
				return fmt.Errorf("%w: group %q: a member group without an id", audit.ErrInvalidDirectory, group)
			}
			if err := mustExist(ctx, d, tx, TableGroups, id, "group", g); err != nil {
				return fmt.Errorf("group %q: %w", group, err)
			}
			children = append(children, id)
		}
		latest := d.Table(ViewRelations)
		var current []uuid.UUID
		if err := tx.SelectContext(ctx, &current, Rebind(d, "SELECT child_id FROM "+latest+" WHERE parent_id = ?"), d.UUIDArg(parent)); err != nil {
			return err
		}
		fact := func(child uuid.UUID, member bool) error {
			_, err := tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableRelationsHistory)+" (id, parent_id, child_id, member) VALUES (?, ?, ?, ?)"),
				d.UUIDArg(newFactID()), d.UUIDArg(parent), d.UUIDArg(child), member)
			return err
		}
		for i, c := range children {
			if slices.Contains(current, c) || slices.Contains(children[:i], c) {
				continue
			}
			if _, err := tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableGroupsRelations)+" (parent_id, child_id) VALUES (?, ?) ON CONFLICT DO NOTHING"),
				d.UUIDArg(parent), d.UUIDArg(c)); err != nil {
				return err
			}
			if err := fact(c, true); err != nil {
				return err
			}
		}
		for _, c := range current {
			if !slices.Contains(children, c) {
				if err := fact(c, false); err != nil {
					return err
				}
			}
		}
		// UNION, not UNION ALL: the walk ends on a cycle too.
		var n int
		err := tx.QueryRowxContext(ctx, Rebind(d, "WITH RECURSIVE walk (id) AS (SELECT child_id FROM "+latest+" WHERE parent_id = ?"+
			" UNION SELECT r.child_id FROM "+latest+" r JOIN walk w ON r.parent_id = w.id) SELECT count(*) FROM walk WHERE id = ?"),
			d.UUIDArg(parent), d.UUIDArg(parent)).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: group %q would be its own member", audit.ErrInvalidDirectory, group)
		}
		return nil
	})
}

func mustExist(ctx context.Context, d Dialect, tx *sqlx.Tx, table string, id uuid.UUID, what, key string) error {
	var one int
	err := tx.QueryRowxContext(ctx, Rebind(d, "SELECT 1 FROM "+d.Table(table)+" WHERE id = ?"), d.UUIDArg(id)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s %q was never recorded", audit.ErrInvalidDirectory, what, key)
	}
	return err
}

// optText returns s as a text column that is NULL when s is empty, with
// [audit.Text]'s repair of NUL bytes and invalid UTF-8.
func optText(s string) any {
	if s == "" {
		return nil
	}
	t, _ := audit.Text(s)
	return t
}

func inTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
