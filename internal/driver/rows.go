package driver

import (
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/codec"
	"github.com/auditkit/audit/internal/eventcheck"
	"github.com/google/uuid"
)

// Table names, as in Datagrok's schema.
const (
	TableEvents          = "events"
	TableEventTypes      = "event_types"
	TableEventParameters = "event_parameters"
	TableValues          = "event_parameter_values"
	TableSessions        = "users_sessions"
	TableUsers           = "users"
	TableGroups          = "groups"
	TableGroupsRelations = "groups_relations"
)

// EventColumns are the columns of events that the stores write, in the order
// of [EventRow.Args]. Beyond Datagrok's columns: description_raw,
// error_stack_trace_raw (see the package doc on text), level (the event's
// level, also event_types.source), error_stack_trace_hash and its _raw (the
// event's own fingerprint), user_id and its _raw, duration_ns. friendly_name
// is Datagrok's readable name of the event: its message, else its record
// type (repaired text: its _raw, when needed, is description_raw or
// event_types.friendly_name_raw). comment is [SyntheticComment] for the
// events the store writes itself ([StartedRows]), NULL otherwise. digest_id
// is the chain_digests record of the event's batch, NULL when the store keeps
// no chain (it stays last).
var EventColumns = []string{
	"id", "event_time", "event_type_id", "session_id",
	"description", "description_raw", "error_message", "is_error",
	"error_stack_trace", "error_stack_trace_raw",
	"error_stack_trace_hash", "error_stack_trace_hash_raw",
	"level", "user_id", "user_id_raw", "duration_ns", "friendly_name", "comment",
	"digest_id",
}

// ClientIPParam is the param whose string value fills users_sessions.ip
// (audithttp sets it from the request).
const ClientIPParam = "client_ip"

// ValueColumns are the columns of event_parameter_values that the stores
// write, in the order of [ValueRow.Args]. Beyond Datagrok's (event_id,
// parameter_id, value, value_uuid): value_raw, entity_kind (the object's
// kind, NULL for values that are not object references) and entity_kind_raw.
var ValueColumns = []string{
	"event_id", "parameter_id", "value", "value_raw", "value_uuid", "entity_kind", "entity_kind_raw",
}

// EventRow is an event as the stores write it: one events row plus its
// values. The registry ids (TypeID, each value's ParameterID) are filled in
// by the store once it has resolved the keys.
type EventRow struct {
	ID     uuid.UUID
	Time   time.Time
	Type   TypeKey
	TypeID uuid.UUID
	// SessionID is users_sessions.id, valid when HasSession. An event
	// with a user and no session has its user's implicit session of the
	// day ([ImplicitSessionUUID]), whose Session key is empty.
	SessionID  uuid.UUID
	HasSession bool
	// IP is the client_ip param, for users_sessions.ip; empty for none.
	IP string
	// Synthetic marks an event the store writes itself ([StartedRows]).
	Synthetic bool
	// DigestID is the id of the batch's chain record ([ChainWriter.Seal]);
	// the zero id for none.
	DigestID uuid.UUID

	Session, User, Description, StackTrace, Fingerprint TextPair
	Duration                                            time.Duration

	Values []ValueRow
}

// TextPair is a string as stored: the text column and its _raw column (nil
// when the text is the string). See [EncodeText].
type TextPair struct {
	Text string
	Raw  []byte
}

// String returns the original string.
func (p TextPair) String() string { return DecodeText(p.Text, p.Raw) }

func (p TextPair) empty() bool { return p.Text == "" && p.Raw == nil }

func pair(s string) TextPair {
	t, raw := EncodeText(s)
	return TextPair{t, raw}
}

// ValueRow is one event_parameter_values row.
type ValueRow struct {
	Param       ParamKey
	NameText    string
	NameRaw     []byte
	ParameterID uuid.UUID

	Value      string
	ValueRaw   []byte
	ValueUUID  uuid.NullUUID
	Entity     bool
	EntityKind string
	KindRaw    []byte
}

// Validate checks what every store requires of an event; see
// [eventcheck.Check].
func Validate(e *audit.Event) error { return eventcheck.Check(e) }

// EncodeEvent validates e and maps it to its rows. The time is truncated to
// microseconds, the resolution of the SQL stores. TypeID and ParameterIDs
// are left for the store to resolve; ParamKey.TypeID is set from typeID.
func EncodeEvent(e *audit.Event) (EventRow, error) { return encodeEvent(e, nil) }

// sessionIDs remembers the session ids of a batch's events ([SessionUUID]
// hashes the ones that are not UUIDs), which recur from event to event.
type sessionIDs map[string]uuid.UUID

func (c *sessionIDs) get(session string) (uuid.UUID, bool) {
	if c == nil || session == "" {
		return SessionUUID(session)
	}
	id, ok := (*c)[session]
	if !ok {
		id, _ = SessionUUID(session)
		if *c == nil {
			*c = make(sessionIDs)
		}
		(*c)[session] = id
	}
	return id, true
}

func encodeEvent(e *audit.Event, sessions *sessionIDs) (EventRow, error) {
	if err := Validate(e); err != nil {
		return EventRow{}, err
	}
	fp, _ := audit.Text(e.Fingerprint)
	r := EventRow{
		ID:          e.ID,
		Time:        e.Time.UTC().Truncate(time.Microsecond),
		Type:        TypeKey{Type: e.Type, Level: e.Level, Fingerprint: fp},
		Session:     pair(e.SessionID),
		User:        pair(e.UserID),
		Description: pair(e.Message),
		StackTrace:  pair(e.StackTrace),
		Fingerprint: pair(e.Fingerprint),
		Duration:    e.Duration,
	}
	r.SessionID, r.HasSession = sessions.get(e.SessionID)
	if !r.HasSession && e.UserID != "" {
		r.SessionID, r.HasSession = ImplicitSessionUUID(e.UserID, r.Time), true
	}
	if len(e.Params) > 0 {
		r.Values = make([]ValueRow, len(e.Params))
		for i, p := range e.Params {
			r.Values[i] = EncodeValue(p)
			if p.Key == ClientIPParam && p.Value.Kind() == audit.KindString {
				r.IP, _ = audit.Text(p.Value.String())
			}
		}
	}
	return r, nil
}

// EncodeValue maps a param to its event_parameter_values row, with
// Datagrok's text semantics ([audit.Value.String]: null is the text 'null',
// numbers and booleans their decimal text). An object reference keeps its id
// in value, its kind in entity_kind, and the id in value_uuid too when it
// is a UUID. ParamKey.TypeID is left for the store.
func EncodeValue(p audit.Param) ValueRow {
	v := ValueRow{Param: ParamKey{Name: p.Key, Kind: p.Value.Kind()}}
	v.NameText, v.NameRaw = EncodeText(p.Key)
	v.Value, v.ValueRaw = EncodeText(p.Value.String())
	if ent, ok := p.Value.Entity(); ok {
		v.Entity = true
		v.EntityKind, v.KindRaw = EncodeText(ent.Kind)
		if u, err := uuid.Parse(ent.ID); err == nil {
			v.ValueUUID = uuid.NullUUID{UUID: u, Valid: true}
		}
	}
	return v
}

// Args returns the events row in the order of [EventColumns], with nil for
// SQL NULL. d converts times and ids.
func (r *EventRow) Args(d Dialect) []any {
	return r.AppendArgs(make([]any, 0, len(EventColumns)), d, d.UUIDArg(r.TypeID))
}

// AppendArgs appends the events row to dst as [EventRow.Args] returns it,
// with typeID as the argument of r.TypeID (so that a batch converts each
// type's id once).
func (r *EventRow) AppendArgs(dst []any, d Dialect, typeID any) []any {
	var session, errMsg, stack, fp, user, dur any
	if r.HasSession {
		session = d.UUIDArg(r.SessionID)
	}
	isErr := r.Type.Level == audit.LevelError
	if isErr {
		errMsg = r.Description.Text
	}
	if !r.StackTrace.empty() {
		stack = r.StackTrace.Text
	}
	if !r.Fingerprint.empty() {
		fp = r.Fingerprint.Text
	}
	if !r.User.empty() {
		user = r.User.Text
	}
	if r.Duration != 0 {
		dur = int64(r.Duration)
	}
	var comment any
	if r.Synthetic {
		comment = SyntheticComment
	}
	friendly := r.Description.Text
	if friendly == "" {
		friendly, _ = audit.Text(r.Type.Type)
	}
	var digest any
	if r.DigestID != uuid.Nil {
		digest = d.UUIDArg(r.DigestID)
	}
	return append(dst,
		d.UUIDArg(r.ID), d.TimeArg(r.Time), typeID, session,
		r.Description.Text, RawArg(r.Description.Raw), errMsg, isErr,
		stack, RawArg(r.StackTrace.Raw),
		fp, RawArg(r.Fingerprint.Raw),
		r.Type.Level.String(), user, RawArg(r.User.Raw), dur, friendly, comment,
		digest,
	)
}

// Args returns the value row of event eventID in the order of
// [ValueColumns].
func (v *ValueRow) Args(d Dialect, eventID uuid.UUID) []any {
	return v.AppendArgs(make([]any, 0, len(ValueColumns)), d, d.UUIDArg(eventID), d.UUIDArg(v.ParameterID))
}

// AppendArgs appends the value row to dst as [ValueRow.Args] returns it, with
// eventID and parameterID as the arguments of the event's id and of
// v.ParameterID (so that a batch converts each id once).
func (v *ValueRow) AppendArgs(dst []any, d Dialect, eventID, parameterID any) []any {
	var vu, kind any
	if v.ValueUUID.Valid {
		vu = d.UUIDArg(v.ValueUUID.UUID)
	}
	if v.Entity {
		kind = v.EntityKind
	}
	return append(dst, eventID, parameterID, v.Value, RawArg(v.ValueRaw), vu, kind, RawArg(v.KindRaw))
}

// DecodeValue rebuilds a param from its stored parts: the event_parameters
// name and type, and the event_parameter_values value and entity kind (each
// with its _raw). A type that is not an [audit.Kind] name (a row written by
// another program) or a value that does not parse as its kind reads as a
// string, so nothing stored is lost.
func DecodeValue(name string, nameRaw []byte, typ string, value string, valueRaw []byte, entityKind *string, kindRaw []byte) audit.Param {
	key := DecodeText(name, nameRaw)
	text := DecodeText(value, valueRaw)
	kind, ok := codec.ParseKind(typ)
	if !ok {
		return audit.Param{Key: key, Value: audit.StringValue(text)}
	}
	var ek string
	if entityKind != nil {
		ek = DecodeText(*entityKind, kindRaw)
	}
	v, err := codec.ParseValue(kind, text, ek)
	if err != nil {
		return audit.Param{Key: key, Value: audit.StringValue(text)}
	}
	return audit.Param{Key: key, Value: v.(audit.Value)}
}
