package audit

import (
	"context"
	"errors"
	"time"
)

// ErrInvalidDirectory is wrapped by the errors of a [Directory] for input it
// refuses: an empty id, a member that was never put, a membership cycle.
var ErrInvalidDirectory = errors.New("audit: invalid directory change")

// User is a user of the host service, as its directory knows it: what the
// stores keep in Datagrok's users table.
type User struct {
	// ID is the user id the service's events carry ([Event.UserID]).
	ID string
	// Login and FriendlyName are the login and the display name.
	Login, FriendlyName string
	// Picture is a URL or path of the user's picture; empty for none.
	Picture string
	// Joined is when the user joined. Zero keeps the stored time, or the
	// time of the user's first stored event, or now for a user never seen.
	Joined time.Time
}

// Group is a group of users (and of groups) of the host service.
type Group struct {
	// ID is the service's id of the group.
	ID string
	// Name and FriendlyName are its name and display name.
	Name, FriendlyName string
}

// Directory is implemented by the stores that keep users and groups
// (Datagrok's users, groups and groups_relations tables), for the host
// service to record who its users are and which groups they belong to. A
// user seen in an event has a row already (its login the logged id, joined
// its first event); PutUser gives it new names. The SQL stores write
// insert-only: their users and groups tables keep the first-seen rows, and
// views (users_latest, ...) show the newest (see store/postgres).
type Directory interface {
	// PutUser records a user, or updates the one of that id.
	PutUser(ctx context.Context, u User) error
	// PutGroup records a group, or updates the one of that id.
	PutGroup(ctx context.Context, g Group) error
	// SetMembers replaces the direct members of the group: users (by
	// [User.ID], each recorded by PutUser or seen in an event) and groups
	// (by [Group.ID], each recorded by PutGroup). Groups nest: a member of a
	// subgroup is a member of the group. A change that would make a group
	// its own member, directly or through subgroups, is refused with an
	// error wrapping [ErrInvalidDirectory] and changes nothing.
	SetMembers(ctx context.Context, group string, users, groups []string) error
}
