package driver

import (
	"fmt"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

// eventSelect lists the columns the reads return, in the order of
// [EventScan]'s fields.
const eventSelect = `e.id, e.event_time, e.level, t.friendly_name, t.friendly_name_raw,
 e.description, e.description_raw, e.error_stack_trace, e.error_stack_trace_raw,
 e.error_stack_trace_hash, e.error_stack_trace_hash_raw,
 s.session_key, s.session_key_raw, e.user_id, e.user_id_raw, e.duration_ns`

// EventScan is one row of the events query: scan it with [EventScan.Dest].
type EventScan struct {
	ID             uuid.UUID
	Time           ScanTime
	Level          string
	Type           string
	TypeRaw        []byte
	Description    string
	DescriptionRaw []byte
	StackTrace     *string
	StackTraceRaw  []byte
	Fingerprint    *string
	FingerprintRaw []byte
	Session        *string
	SessionRaw     []byte
	User           *string
	UserRaw        []byte
	DurationNS     *int64
}

// Dest returns the scan destinations, in the order of the selected columns.
func (r *EventScan) Dest() []any {
	return []any{&r.ID, &r.Time, &r.Level, &r.Type, &r.TypeRaw,
		&r.Description, &r.DescriptionRaw, &r.StackTrace, &r.StackTraceRaw,
		&r.Fingerprint, &r.FingerprintRaw, &r.Session, &r.SessionRaw, &r.User, &r.UserRaw, &r.DurationNS}
}

// Event returns the event of the row, without its params.
func (r *EventScan) Event() (audit.Event, error) {
	lvl, err := audit.ParseLevel(r.Level)
	if err != nil {
		return audit.Event{}, err
	}
	opt := func(s *string, raw []byte) string {
		if s == nil {
			return ""
		}
		return DecodeText(*s, raw)
	}
	e := audit.Event{
		ID:          r.ID,
		Time:        r.Time.Time,
		Level:       lvl,
		Type:        DecodeText(r.Type, r.TypeRaw),
		Message:     DecodeText(r.Description, r.DescriptionRaw),
		StackTrace:  opt(r.StackTrace, r.StackTraceRaw),
		Fingerprint: opt(r.Fingerprint, r.FingerprintRaw),
		SessionID:   opt(r.Session, r.SessionRaw),
		UserID:      opt(r.User, r.UserRaw),
	}
	if r.DurationNS != nil {
		e.Duration = time.Duration(*r.DurationNS)
	}
	return e, nil
}

// ScanTime scans a timestamp as the drivers return it: a time.Time, or
// microseconds since the Unix epoch. It is always UTC.
type ScanTime struct{ time.Time }

// Scan implements [database/sql.Scanner].
func (t *ScanTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
	case int64:
		t.Time = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("driver: cannot scan %T into a time", src)
	}
	return nil
}

// MatchText returns the condition (with ? placeholders) and its arguments
// that keep rows whose text column col holds one of values, byte for byte:
// a value the text rule changed must match both col and col_raw, a value it
// kept must match col with col_raw NULL, so "u\x00" and "u␀" stay apart.
func MatchText(col string, values []string) (string, []any) {
	var clean []any
	var ors []string
	var args []any
	for _, v := range values {
		t, raw := EncodeText(v)
		if raw == nil {
			clean = append(clean, t)
			continue
		}
		ors = append(ors, "("+col+" = ? AND "+col+"_raw = ?)")
		args = append(args, t, raw)
	}
	if len(clean) > 0 {
		ors = append([]string{"(" + col + " IN (" + Placeholders(len(clean)) + ") AND " + col + "_raw IS NULL)"}, ors...)
		args = append(clean, args...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// EventsQuery builds the query of one page of q: the events (see
// [EventScan]) that match, newest first, at most q.PageSize()+1 of them (the
// extra row tells that there is a next page). It returns an error wrapping
// [audit.ErrInvalidCursor] for a bad cursor.
func EventsQuery(d Dialect, q *audit.Query) (string, []any, error) {
	w := NewWhere(d)
	w.Window(q.Since, q.Until)
	w.Levels("t.source", q.Levels)
	if len(q.Types) > 0 {
		w.Text("t.friendly_name", q.Types)
	}
	if len(q.UserIDs) > 0 {
		w.Text("e.user_id", q.UserIDs)
	}
	w.Sessions(q.SessionIDs)
	if q.Object != nil {
		w.Object(*q.Object)
	}
	if q.After != "" {
		t, id, err := audit.DecodeCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		w.Before(t, id)
	}
	var sb strings.Builder
	sb.WriteString("SELECT " + eventSelect + "\nFROM " + d.Table(TableEvents) + " e\nJOIN " + d.Table(TableEventTypes) + " t ON t.id = e.event_type_id\nLEFT JOIN " + d.Table(TableSessions) + " s ON s.id = e.session_id")
	if !w.Empty() {
		sb.WriteString("\nWHERE " + w.String())
	}
	fmt.Fprintf(&sb, "\nORDER BY e.event_time DESC, e.id DESC\nLIMIT %d", q.PageSize()+1)
	return Rebind(d, sb.String()), w.Args(), nil
}

// ValueScan is one row of the params query: scan it with [ValueScan.Dest].
type ValueScan struct {
	EventID    uuid.UUID
	Name       string
	NameRaw    []byte
	Type       string
	Value      string
	ValueRaw   []byte
	EntityKind *string
	KindRaw    []byte
}

// Dest returns the scan destinations, in the order of the selected columns.
func (r *ValueScan) Dest() []any {
	return []any{&r.EventID, &r.Name, &r.NameRaw, &r.Type, &r.Value, &r.ValueRaw, &r.EntityKind, &r.KindRaw}
}

// Param returns the param of the row.
func (r *ValueScan) Param() audit.Param {
	return DecodeValue(r.Name, r.NameRaw, r.Type, r.Value, r.ValueRaw, r.EntityKind, r.KindRaw)
}

// ParamsQuery builds the query of the params of the given events (see
// [ValueScan]).
func ParamsQuery(d Dialect, ids []uuid.UUID) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = d.UUIDArg(id)
	}
	q := "SELECT v.event_id, p.name, p.name_raw, p.type, v.value, v.value_raw, v.entity_kind, v.entity_kind_raw\nFROM " +
		d.Table(TableValues) + " v\nJOIN " + d.Table(TableEventParameters) + " p ON p.id = v.parameter_id\nWHERE v.event_id IN (" + Placeholders(len(ids)) + ")"
	return Rebind(d, q), args
}

// CeilMicro returns t in UTC rounded up to a whole microsecond.
func CeilMicro(t time.Time) time.Time {
	t = t.UTC()
	if r := t.Truncate(time.Microsecond); !r.Equal(t) {
		return r.Add(time.Microsecond)
	}
	return t
}
