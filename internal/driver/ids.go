package driver

import (
	"strconv"

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
	if session == "" {
		return uuid.Nil, false
	}
	if len(session) == 36 {
		if u, err := uuid.Parse(session); err == nil && u.String() == session {
			return u, true
		}
	}
	return uuid.NewSHA1(namespace, []byte("session\x00"+session)), true
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
