package driver

import (
	"strconv"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

// namespace is the UUIDv5 namespace of every id this package derives.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/auditkit/audit"))

// SessionUUID returns users_sessions.id (and events.session_id) of a session
// id: the id itself when it is a UUID in canonical form (lower case, with
// hyphens), else a UUIDv5 of its bytes. The original id is kept in
// users_sessions.session_key. The empty id has no session (ok is false).
func SessionUUID(session string) (id uuid.UUID, ok bool) {
	return keyUUID("session", session)
}

// ImplicitSessionUUID returns users_sessions.id of the implicit session of
// a user on the UTC day of t: the session of the user's events that name
// none, so that every event with a user has a session, as Datagrok's
// per-user queries need. Its session_key is empty, so such events read back
// without a session id.
func ImplicitSessionUUID(user string, t time.Time) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("implicit-session\x00"+t.UTC().Format("2006-01-02")+"\x00"+user))
}

// UserUUID returns users.id (and users_sessions.user_id) of a logged user
// id, as [SessionUUID] does for sessions; the original id is kept in
// users.user_key. The empty id has no user.
func UserUUID(user string) (id uuid.UUID, ok bool) { return keyUUID("user", user) }

// GroupUUID returns groups.id of a group id the host service gives, as
// [SessionUUID] does for sessions; the original id is kept in
// groups.group_key. The empty id is no group.
func GroupUUID(group string) (id uuid.UUID, ok bool) { return keyUUID("group", group) }

// PersonalGroupUUID returns groups.id of the personal group of the user
// whose users.id is user: Datagrok's users.group_id.
func PersonalGroupUUID(user uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(namespace, append([]byte("personal-group\x00"), user[:]...))
}

func keyUUID(kind, key string) (uuid.UUID, bool) {
	if key == "" {
		return uuid.Nil, false
	}
	if len(key) == 36 {
		if u, err := uuid.Parse(key); err == nil && u.String() == key {
			return u, true
		}
	}
	return uuid.NewSHA1(namespace, []byte(kind+"\x00"+key)), true
}

// TypeKey identifies a row of event_types: the registry key. Datagrok keys
// its event types by more than the record type: error types carry the hash
// of their stack trace. So a row is one (record type, level, fingerprint),
// and events of one type with different fingerprints get different rows.
type TypeKey struct {
	// Type is the record type, byte for byte (friendly_name and its _raw).
	Type string
	// Level is the level (source).
	Level audit.Level
	// Fingerprint is the text form of the stack fingerprint, empty for none
	// (error_stack_trace_hash).
	Fingerprint string
}

// ID is the deterministic id a new event_types row of k gets, so that
// processes that meet the same new type at once insert the same row.
func (k TypeKey) ID() uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("event_type\x00"+k.Level.String()+"\x00"+k.Fingerprint+"\x00"+k.Type))
}

// ParamKey identifies a row of event_parameters: the event type, the param
// name and the kind of value (event_parameters.type is the [audit.Kind]
// name, 'entity_id' for object references). A param name that carries values
// of different kinds has one row per kind, so type = 'entity_id' always
// means an object reference.
type ParamKey struct {
	// TypeID is the id of the event_types row.
	TypeID uuid.UUID
	// Name is the param key, byte for byte.
	Name string
	// Kind is the kind of the value.
	Kind audit.Kind
}

// ID is the deterministic id a new event_parameters row of k gets.
func (k ParamKey) ID() uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("event_parameter\x00"+k.TypeID.String()+"\x00"+strconv.Itoa(int(k.Kind))+"\x00"+k.Name))
}
