package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/auditkit/audit"
)

var _ audit.Directory = (*Store)(nil)

// directory is what the store keeps of [audit.Directory]: users and groups
// by the host service's ids, and each group's direct members.
type directory struct {
	users   map[string]audit.User
	groups  map[string]audit.Group
	members map[string]members
}

type members struct{ users, groups []string }

// PutUser implements [audit.Directory].
func (s *Store) PutUser(ctx context.Context, u audit.User) error {
	if u.ID == "" {
		return fmt.Errorf("memory: put user: %w: user without an id", audit.ErrInvalidDirectory)
	}
	return s.directory(ctx, "put user", func(d *directory) error {
		if old, ok := d.users[u.ID]; ok && u.Joined.IsZero() {
			u.Joined = old.Joined
		}
		if u.Joined.IsZero() {
			u.Joined = s.opts.Now()
		}
		d.users[u.ID] = u
		return nil
	})
}

// PutGroup implements [audit.Directory].
func (s *Store) PutGroup(ctx context.Context, g audit.Group) error {
	if g.ID == "" {
		return fmt.Errorf("memory: put group: %w: group without an id", audit.ErrInvalidDirectory)
	}
	return s.directory(ctx, "put group", func(d *directory) error {
		d.groups[g.ID] = g
		return nil
	})
}

// SetMembers implements [audit.Directory].
func (s *Store) SetMembers(ctx context.Context, group string, users, groups []string) error {
	return s.directory(ctx, "set members", func(d *directory) error {
		if _, ok := d.groups[group]; !ok {
			return fmt.Errorf("%w: group %q was never recorded", audit.ErrInvalidDirectory, group)
		}
		for _, u := range users {
			if _, ok := d.users[u]; !ok {
				if _, seen := s.seen[u]; !seen || u == "" {
					return fmt.Errorf("group %q: %w: user %q was never recorded", group, audit.ErrInvalidDirectory, u)
				}
			}
		}
		for _, g := range groups {
			if _, ok := d.groups[g]; !ok {
				return fmt.Errorf("group %q: %w: group %q was never recorded", group, audit.ErrInvalidDirectory, g)
			}
		}
		// A cycle goes through group: walk down from its new members.
		visited := map[string]bool{}
		stack := slices.Clone(groups)
		for len(stack) > 0 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if g == group {
				return fmt.Errorf("%w: group %q would be its own member", audit.ErrInvalidDirectory, group)
			}
			if !visited[g] {
				visited[g] = true
				stack = append(stack, d.members[g].groups...)
			}
		}
		d.members[group] = members{slices.Clone(users), slices.Clone(groups)}
		return nil
	})
}

func (s *Store) directory(ctx context.Context, op string, fn func(*directory) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: %s: %w", op, audit.ErrClosed)
	}
	if s.dir.users == nil {
		s.dir = directory{users: map[string]audit.User{}, groups: map[string]audit.Group{}, members: map[string]members{}}
	}
	if err := fn(&s.dir); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	return nil
}
