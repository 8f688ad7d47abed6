package driver

import (
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// EventsByIDQuery builds the query of the events with the given ids (see
// [EventScan]), without their params and in no particular order. Readers
// that select event ids with queries of their own (the analysis package)
// load the events with it and [ParamsQuery].
func EventsByIDQuery(d Dialect, ids []uuid.UUID) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = d.UUIDArg(id)
	}
	q := "SELECT " + eventSelect + "\nFROM " + d.Table(TableEvents) + " e\nJOIN " + d.Table(TableEventTypes) +
		" t ON t.id = e.event_type_id\nLEFT JOIN " + d.Table(TableSessions) + " s ON s.id = e.session_id\nWHERE e.id IN (" +
		Placeholders(len(ids)) + ")"
	return sqlx.Rebind(d.BindType(), q), args
}
