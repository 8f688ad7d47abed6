package driver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

// Where accumulates the conditions of a WHERE clause on the events table
// (aliased e), with ? placeholders, and their arguments in order. It is the
// one builder of event filters: the stores' Read and every analysis query
// use it.
type Where struct {
	d     Dialect
	conds []string
	args  []any
	// since and until are the bounds of Window, for Object.
	since, until time.Time
}

// NewWhere returns a clause in d's dialect that leaves out the events the
// store writes itself ([SyntheticComment]).
func NewWhere(d Dialect) *Where {
	w := &Where{d: d}
	w.Add("coalesce(e.comment, '') <> '" + SyntheticComment + "'")
	return w
}

// NewConds returns an empty clause in d's dialect, for conditions on
// another table than the events.
func NewConds(d Dialect) *Where { return &Where{d: d} }

// Clone returns a copy of w that can grow apart from it.
func (w *Where) Clone() *Where {
	return &Where{d: w.d, conds: slices.Clone(w.conds), args: slices.Clone(w.args), since: w.since, until: w.until}
}

// Add adds a condition with its arguments.
func (w *Where) Add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// Args returns the arguments of the conditions, in order.
func (w *Where) Args() []any { return w.args }

// String returns the conditions joined by AND, "TRUE" when there is none.
func (w *Where) String() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, "\n AND ")
}

// Empty reports whether w has no condition.
func (w *Where) Empty() bool { return len(w.conds) == 0 }

// Window keeps events with since <= event_time < until; a zero bound is
// open. Bounds are rounded up to whole microseconds (stored times are whole
// microseconds, so the meaning of >= and < is kept exactly).
func (w *Where) Window(since, until time.Time) {
	w.since, w.until = since, until
	if !since.IsZero() {
		w.Add("e.event_time >= ?", w.d.TimeArg(CeilMicro(since)))
	}
	if !until.IsZero() {
		w.Add("e.event_time < ?", w.d.TimeArg(CeilMicro(until)))
	}
}

// Levels keeps events of the given levels (col is events.level or
// event_types.source); none means all.
func (w *Where) Levels(col string, ls []audit.Level) {
	if len(ls) == 0 {
		return
	}
	args := make([]any, len(ls))
	for i, l := range ls {
		args[i] = l.String()
	}
	w.Add(col+" IN ("+Placeholders(len(args))+")", args...)
}

// Types keeps events of the given record types, through the event_types
// registry so that the (event_type_id, event_time) index serves them; none
// means all.
func (w *Where) Types(ts []string) {
	if len(ts) == 0 {
		return
	}
	cond, args := MatchText("friendly_name", ts)
	w.Add("e.event_type_id IN (SELECT id FROM "+w.d.Table(TableEventTypes)+" WHERE "+cond+")", args...)
}

// ErrorsOnly keeps error events, through the registry too.
func (w *Where) ErrorsOnly() {
	w.Add("e.event_type_id IN (SELECT id FROM " + w.d.Table(TableEventTypes) + " WHERE source = 'error')")
}

// Users keeps events of the given users ("" for events without one); none
// means all.
func (w *Where) Users(us []string) { w.UsersOf("e.user_id", us) }

// UsersOf keeps rows whose user column col (with col_raw; NULL for none)
// holds one of the given users ("" for none); none means all.
func (w *Where) UsersOf(col string, us []string) {
	if len(us) == 0 {
		return
	}
	var ors, named []string
	for _, u := range us {
		if u == "" {
			ors = append(ors, col+" IS NULL")
		} else {
			named = append(named, u)
		}
	}
	var args []any
	if len(named) > 0 {
		cond, a := MatchText(col, named)
		ors = append(ors, cond)
		args = a
	}
	w.Add("("+strings.Join(ors, " OR ")+")", args...)
}

// TypeLevels keeps rows whose record type (col, an event_types id) is of
// the given levels, through the registry; none means all.
func (w *Where) TypeLevels(col string, ls []audit.Level) {
	if len(ls) == 0 {
		return
	}
	sub := &Where{d: w.d}
	sub.Levels("source", ls)
	w.Add(col+" IN (SELECT id FROM "+w.d.Table(TableEventTypes)+" WHERE "+sub.String()+")", sub.args...)
}

// Scope keeps the events of the given users ("" for events without one)
// and levels, none of a list meaning all; nobody true keeps no event (a
// group filter that no user matches).
func (w *Where) Scope(users []string, levels []audit.Level, nobody bool) {
	if nobody {
		w.Add("1 = 0")
	}
	w.Users(users)
	w.Levels("e.level", levels)
}

// Sessions keeps events of the given session ids; none means all.
func (w *Where) Sessions(ss []string) {
	if len(ss) == 0 {
		return
	}
	var ids []any
	for _, s := range ss {
		if u, ok := SessionUUID(s); ok {
			ids = append(ids, w.d.UUIDArg(u))
		}
	}
	if len(ids) == 0 {
		w.Add("e.session_id IS NULL AND e.session_id IS NOT NULL")
		return
	}
	w.Add("e.session_id IN ("+Placeholders(len(ids))+")", ids...)
}

// Object keeps events with a param that references obj (any kind when
// obj.Kind is empty): one range of the object index (value, entity_kind,
// event_time, event_id) of the values table. Where the values have the
// event's time ([Dialect.ValueTimes]), the bounds of an earlier
// [Where.Window] bound the values too, and the events are found by their
// primary key (event_time, id).
func (w *Where) Object(obj audit.Entity) {
	sub := ObjectValues(w.d, obj)
	if !w.d.ValueTimes() {
		w.Add("e.id IN (SELECT v.event_id FROM "+w.d.Table(TableValues)+" v WHERE "+sub.String()+")", sub.args...)
		return
	}
	if !w.since.IsZero() {
		sub.Add("v.event_time >= ?", w.d.TimeArg(CeilMicro(w.since)))
	}
	if !w.until.IsZero() {
		sub.Add("v.event_time < ?", w.d.TimeArg(CeilMicro(w.until)))
	}
	w.Add("(e.event_time, e.id) IN (SELECT v.event_time, v.event_id FROM "+w.d.Table(TableValues)+" v WHERE "+sub.String()+")", sub.args...)
}

// ObjectValues returns the conditions on the values table (aliased v) that
// keep the references to obj (any kind when obj.Kind is empty). Where the
// values have the event's time, they hold the object index's predicate
// when obj's id and kind are short enough for it (see
// [ObjectIndexMaxValue]), so that the index serves them; the references to
// other objects are found through the hash index on value.
func ObjectValues(d Dialect, obj audit.Entity) *Where {
	sub := &Where{d: d} // on the values table: no events condition
	sub.Add("v.entity_kind IS NOT NULL")
	sub.Text("v.value", []string{obj.ID})
	if obj.Kind != "" {
		sub.Text("v.entity_kind", []string{obj.Kind})
	}
	id, _ := EncodeText(obj.ID)
	kind, _ := EncodeText(obj.Kind)
	if d.ValueTimes() && obj.Kind != "" && len(id) <= ObjectIndexMaxValue && len(kind) <= ObjectIndexMaxKind {
		sub.Add(fmt.Sprintf("octet_length(v.value) <= %d AND octet_length(v.entity_kind) <= %d", ObjectIndexMaxValue, ObjectIndexMaxKind))
	}
	return sub
}

// ObjectIndexMaxValue and ObjectIndexMaxKind bound the ids and kinds (their
// stored text, in bytes) of the references the object index of Postgres
// (migration 0008) holds: its rows must fit a btree page's third.
const (
	ObjectIndexMaxValue = 800
	ObjectIndexMaxKind  = 100
)

// Text keeps rows whose text column col (with col_raw) holds one of values,
// byte for byte (see [MatchText]).
func (w *Where) Text(col string, values []string) {
	cond, args := MatchText(col, values)
	w.Add(cond, args...)
}

// Before keeps events older than (t, id) in the keyset order (event_time,
// id); After keeps those newer.
func (w *Where) Before(t time.Time, id uuid.UUID) {
	w.Add("(e.event_time, e.id) < (?, ?)", w.d.TimeArg(t), w.d.UUIDArg(id))
}

// After keeps events newer than (t, id) in the keyset order.
func (w *Where) After(t time.Time, id uuid.UUID) {
	w.Add("(e.event_time, e.id) > (?, ?)", w.d.TimeArg(t), w.d.UUIDArg(id))
}
