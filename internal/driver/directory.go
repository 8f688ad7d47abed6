package driver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// PutUser records u in the users table (and its personal group), or updates
// the names and picture of the user of that id; a zero Joined keeps the
// stored time (now for a new user). It runs in one transaction of db.
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
	return inTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableGroups)+" (id, name, personal, group_key, group_key_raw) VALUES (?, ?, ?, ?, ?)"+
			" ON CONFLICT (id) DO UPDATE SET name = excluded.name"),
			d.UUIDArg(g), groupName, true, key.Text, RawArg(key.Raw)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableUsers)+" AS u (id, login, friendly_name, picture, group_id, joined, user_key, user_key_raw)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET login = excluded.login, friendly_name = excluded.friendly_name,"+
			" picture = excluded.picture, joined = CASE WHEN ? THEN u.joined ELSE excluded.joined END"),
			d.UUIDArg(id), login, name, pic, d.UUIDArg(g), d.TimeArg(joined), key.Text, RawArg(key.Raw), keep)
		return err
	})
}

// PutGroup records g in the groups table, or updates the names of the group
// of that id.
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
	_, err := db.ExecContext(ctx, Rebind(d, "INSERT INTO "+d.Table(TableGroups)+" (id, name, friendly_name, personal, group_key, group_key_raw) VALUES (?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (id) DO UPDATE SET name = excluded.name, friendly_name = excluded.friendly_name"),
		d.UUIDArg(id), name, optText(g.FriendlyName), false, key.Text, RawArg(key.Raw))
	return err
}

// SetMembers replaces the rows of groups_relations whose parent is group
// with the personal groups of users and with groups, in one transaction,
// refusing members never recorded and cycles (see [audit.Directory]).
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
		rel := d.Table(TableGroupsRelations)
		if _, err := tx.ExecContext(ctx, Rebind(d, "DELETE FROM "+rel+" WHERE parent_id = ?"), d.UUIDArg(parent)); err != nil {
			return err
		}
		for _, c := range children {
			if _, err := tx.ExecContext(ctx, Rebind(d, "INSERT INTO "+rel+" (parent_id, child_id) VALUES (?, ?) ON CONFLICT DO NOTHING"),
				d.UUIDArg(parent), d.UUIDArg(c)); err != nil {
				return err
			}
		}
		// UNION, not UNION ALL: the walk ends on a cycle too.
		var n int
		err := tx.QueryRowxContext(ctx, Rebind(d, "WITH RECURSIVE walk (id) AS (SELECT child_id FROM "+rel+" WHERE parent_id = ?"+
			" UNION SELECT r.child_id FROM "+rel+" r JOIN walk w ON r.parent_id = w.id) SELECT count(*) FROM walk WHERE id = ?"),
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
