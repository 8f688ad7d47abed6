package sqlite

import (
	"context"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/sqlite"
)

var _ audit.Directory = (*Store)(nil)

// PutUser implements [audit.Directory]: a users row and the user's personal
// group, or a users_history row when they exist and the user changed
// (users_latest is the newest; the package doc says why).
func (s *Store) PutUser(ctx context.Context, u audit.User) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	return translate("put user", driver.PutUser(ctx, sqlite.Dialect{}, s.w, u, s.opts.Now()))
}

// PutGroup implements [audit.Directory]: a groups row, or a groups_history
// row when it exists and the group changed (groups_latest is the newest).
func (s *Store) PutGroup(ctx context.Context, g audit.Group) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	return translate("put group", driver.PutGroup(ctx, sqlite.Dialect{}, s.w, g))
}

// SetMembers implements [audit.Directory]: the groups_relations rows of the
// group's new members, users being members through their personal groups,
// and a groups_relations_history row for each member that joins or leaves
// (groups_relations_latest is the newest).
func (s *Store) SetMembers(ctx context.Context, group string, users, groups []string) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	return translate("set members", driver.SetMembers(ctx, sqlite.Dialect{}, s.w, group, users, groups))
}

func (s *Store) checkWritable() error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if s.w == nil {
		return audit.Permanent(fmt.Errorf("sqlite: %w", ErrReadOnly))
	}
	return nil
}
