package analysis

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
)

// HistoryRequest asks for the history of an object ([Analyzer.History]).
type HistoryRequest struct {
	// Object is the object; its ID is required. An empty Kind matches
	// references of any kind.
	Object audit.Entity
	// Since (inclusive) and Until (exclusive) bound the time, when set.
	// Default: no bound (the whole history).
	Since, Until time.Time
	// Limit caps the number of events read, oldest kept. Default and at
	// most audit.MaxLimit (10,000).
	Limit int
}

// Origin is the event that produced an object and the objects it came from.
type Origin struct {
	Event audit.Event `json:"event"`
	// Sources are the objects the event names as its sources.
	Sources []audit.Entity `json:"sources"`
}

// Derivation is an event that produced other objects from this one.
type Derivation struct {
	Event audit.Event `json:"event"`
	// Products are the objects it produced.
	Products []audit.Entity `json:"products"`
}

// HistoryResult is the data history of an object.
type HistoryResult struct {
	Object audit.Entity `json:"object"`
	// Origin is the event that produced the object; nil when the log has
	// none.
	Origin *Origin `json:"origin"`
	// Modifications are the events that changed, published, shared or
	// deleted it, oldest first.
	Modifications []audit.Event `json:"modifications"`
	// Derived are the events that produced other objects from it, oldest
	// first.
	Derived []Derivation `json:"derived"`
	// Events is the number of events that name the object (every role).
	Events int `json:"events"`
	// Truncated is true when more events than the Limit name the object.
	Truncated bool `json:"truncated"`
}

// History returns where an object came from and what happened to it, from
// the events that name it (one range of the object index, oldest first), by
// these rules:
//
//   - In an event, a param that references an object is a source when its
//     key starts with "in." (a function's input) or "source", or is
//     "from", "parent", "input" or "inputs".
//   - Any event produces the objects of its "out." params (a function's
//     outputs).
//   - An event whose type ends in "-created" or is "table-produced" produces
//     the other objects of the kind its type names ("query-created": kind
//     "query"; "table-produced": kind "table"; an object without a kind
//     counts too); the objects of other kinds it names are its sources (a
//     table produced by a query comes from the query).
//   - The origin is the earliest event that produces the object; its
//     sources are where the object came from.
//   - Modifications are the events whose type ends in "-edited",
//     "-deleted", "-published", "-shared" or "-shared-silent".
//   - Derivations are the events that produce other objects with this one
//     as a source.
func (a *Analyzer) History(ctx context.Context, req HistoryRequest) (HistoryResult, error) {
	if req.Object.ID == "" {
		return HistoryResult{}, fmt.Errorf("analysis: history: %w: Object.ID is empty", ErrInvalidRequest)
	}
	limit, err := limitOf("Limit", req.Limit, audit.MaxLimit, audit.MaxLimit)
	if err != nil {
		return HistoryResult{}, fmt.Errorf("analysis: history: %w", err)
	}
	ids, err := a.objectIDs(ctx, req, limit+1)
	if err != nil {
		return HistoryResult{}, err
	}
	res := HistoryResult{Object: req.Object}
	if len(ids) > limit {
		ids, res.Truncated = ids[:limit], true
	}
	events, err := a.loadEvents(ctx, "history", ids)
	if err != nil {
		return HistoryResult{}, err
	}
	res.Events = len(events)
	for _, e := range events {
		var sources, products []audit.Entity
		var selfSource, selfProduct bool
		for _, p := range e.Params {
			ent, ok := p.Value.Entity()
			if !ok {
				continue
			}
			isSelf := ent.ID == req.Object.ID && (req.Object.Kind == "" || ent.Kind == req.Object.Kind)
			src, produced := role(e.Type, p.Key, ent)
			switch {
			case isSelf:
				selfSource = selfSource || src
				selfProduct = selfProduct || produced
			case src:
				sources = append(sources, ent)
			case produced:
				products = append(products, ent)
			}
		}
		switch {
		case selfProduct && res.Origin == nil:
			res.Origin = &Origin{Event: e, Sources: sources}
		case modifyingType(e.Type):
			res.Modifications = append(res.Modifications, e)
		case selfSource && len(products) > 0:
			res.Derived = append(res.Derived, Derivation{Event: e, Products: products})
		}
	}
	return res, nil
}

// objectIDs returns the ids of the first limit events of the window of req
// that name its object, oldest first. It reads the object's references in
// time order from the object index and joins them to their events (by
// primary key where the values have the event's time), so that it stops
// after limit events instead of reading every event that names the object,
// as the IN of [driver.Where.Object] would before the sort.
func (a *Analyzer) objectIDs(ctx context.Context, req HistoryRequest, limit int) ([]uuid.UUID, error) {
	refs := driver.ObjectValues(a.d, req.Object)
	cols, join := "v.event_id", "e.id = o.event_id"
	if a.d.ValueTimes() {
		cols, join = "v.event_time, v.event_id", "e.event_time = o.event_time AND e.id = o.event_id"
		if !req.Since.IsZero() {
			refs.Add("v.event_time >= ?", a.d.TimeArg(driver.CeilMicro(req.Since)))
		}
		if !req.Until.IsZero() {
			refs.Add("v.event_time < ?", a.d.TimeArg(driver.CeilMicro(req.Until)))
		}
	}
	f := driver.NewWhere(a.d)
	f.Window(req.Since, req.Until)
	q := fmt.Sprintf("SELECT e.id FROM (SELECT DISTINCT %s FROM {%s} v WHERE %s) o JOIN {events} e ON %s WHERE %s ORDER BY e.event_time, e.id LIMIT %d",
		cols, driver.TableValues, refs.String(), join, f.String(), limit)
	return a.queryIDs(ctx, "history", q, append(refs.Args(), f.Args()...))
}

// role says whether the object ent, named by the param key of an event of
// type typ, is one of the event's sources or one of its products (see
// History's rules); it may be neither.
func role(typ, key string, ent audit.Entity) (source, product bool) {
	if isSourceKey(key) {
		return true, false
	}
	if strings.HasPrefix(key, audit.OutputPrefix) {
		return false, true
	}
	if kind, ok := producedKind(typ); ok {
		product = ent.Kind == "" || ent.Kind == kind
		return !product, product
	}
	return false, false
}

func isSourceKey(k string) bool {
	if strings.HasPrefix(k, audit.InputPrefix) || strings.HasPrefix(k, "source") {
		return true
	}
	switch k {
	case "from", "parent", "input", "inputs":
		return true
	}
	return false
}

// producedKind returns the kind of object a producing event type makes.
func producedKind(t string) (string, bool) {
	if t == datagrok.TableProduced {
		return "table", true
	}
	return strings.CutSuffix(t, "-created")
}

func modifyingType(t string) bool {
	for _, s := range []string{"-edited", "-deleted", "-published", "-shared", "-shared-silent"} {
		if strings.HasSuffix(t, s) {
			return true
		}
	}
	return false
}
