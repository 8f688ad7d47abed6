package audit

// Route says where an event goes: saved to the store, exported to sinks,
// printed to the service's own log. The zero Route means not logged at all.
type Route uint8

// The routes, combined with |.
const (
	RouteStore Route = 1 << iota
	RouteExport
	RoutePrint

	// RouteAll sends an event everywhere.
	RouteAll = RouteStore | RouteExport | RoutePrint
)

// Policy decides which events are logged for whom; package settings
// implements it with presets per user, group, session and package. The Logger
// binds a policy to a [Subject] once per child logger and once per request
// context that carries a subject (see [Logger.For]), and then asks the
// [Binding] on every event, so a Binding must answer in nanoseconds without
// allocating; Bind may cost more. A Binding stays valid when the policy
// changes: it must reflect the change from then on, including rules that
// expire by the policy's own clock (Options.Now does not drive it).
//
// The Logger does not close its Policy: a policy may be shared by several
// Loggers, and its owner closes it after them.
type Policy interface {
	Bind(Subject) Binding
}

// Binding is a [Policy] bound to one subject.
type Binding interface {
	// Route returns where an event of this level and type goes.
	Route(level Level, typ string) Route
}

// LogAll is the default Policy: every event is stored, exported and printed.
var LogAll Policy = logAll{}

type logAll struct{}

func (logAll) Bind(Subject) Binding      { return logAll{} }
func (logAll) Route(Level, string) Route { return RouteAll }
