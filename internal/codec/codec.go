// Package codec lends the stores of this module the param codec of package
// audit, which is not part of its public API. Package audit sets ParseValue
// when it is initialised, so any importer of audit may call it.
package codec

// KindNames are the names of audit's param kinds, indexed by kind, as
// audit.Kind.String gives them and the SQL stores keep them.
var KindNames = [...]string{"null", "string", "int64", "uint64", "float64", "bool", "time", "duration", "entity_id", "json"}

// ParseKind is the inverse of audit.Kind.String.
func ParseKind(name string) (kind uint8, ok bool) {
	for k, n := range KindNames {
		if n == name {
			return uint8(k), true
		}
	}
	return 0, false
}

// ParseValue rebuilds an audit.Value (returned as any) from its kind and the
// text audit.Value.String produced; an entity also needs its kind. A text that
// does not parse as its kind is an error.
var ParseValue func(kind uint8, text, entityKind string) (value any, err error)
