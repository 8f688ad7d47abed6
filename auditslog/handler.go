package auditslog

import (
	"context"
	"log/slog"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/callstack"
)

// Attribute keys with a meaning to the Handler: the names of the event's
// JSON shape with the prefix "audit.", as the Logger's printer writes them.
const (
	// TypeKey is the key of the attribute that sets the event's record type.
	TypeKey = "audit.type"
	// LevelKey is the key of the attribute that sets the event's audit
	// level; its value is an [audit.Level] or a level name.
	LevelKey = "audit.level"
)

// Type returns the attribute that sets the event's record type:
// slog.Info("query started", auditslog.Type(datagrok.QueryStart)).
func Type(typ string) slog.Attr { return slog.String(TypeKey, typ) }

// Level returns the attribute that sets the event's audit level, for the
// levels slog lacks: slog.Info("logged in", auditslog.Level(audit.LevelAudit)).
func Level(l audit.Level) slog.Attr { return slog.Any(LevelKey, l) }

// DefaultLevel maps a slog level to an audit level: below Info is debug,
// below Warn info, below Error warning, and Error and above error.
func DefaultLevel(l slog.Level) audit.Level {
	switch {
	case l < slog.LevelInfo:
		return audit.LevelDebug
	case l < slog.LevelWarn:
		return audit.LevelInfo
	case l < slog.LevelError:
		return audit.LevelWarning
	}
	return audit.LevelError
}

// HandlerOptions configure a [Handler]. The zero value (or nil) means the
// defaults.
type HandlerOptions struct {
	// Level is the lowest slog level handled. Default slog.LevelInfo, as
	// slog's own handlers. Settings then decide, per user and event type,
	// what is logged among what the Handler passes on.
	Level slog.Leveler
	// MapLevel maps a record's slog level to the event's audit level when
	// the record has no [LevelKey] attribute. Default [DefaultLevel].
	MapLevel func(slog.Level) audit.Level
}

// Handler is a [slog.Handler] that records slog records as audit events;
// see the package documentation for how. It is safe for concurrent use.
type Handler struct {
	logger   *audit.Logger
	minLevel slog.Leveler
	mapLevel func(slog.Level) audit.Level
	prefix   string        // the open groups, each followed by "."
	params   []audit.Param // from WithAttrs, keys already prefixed
	typ      string        // from a WithAttrs TypeKey attribute
	level    audit.Level   // from a WithAttrs LevelKey attribute; 0 if none
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler that logs to logger.
func NewHandler(logger *audit.Logger, opts *HandlerOptions) *Handler {
	h := &Handler{logger: logger, minLevel: slog.LevelInfo, mapLevel: DefaultLevel}
	if opts != nil {
		if opts.Level != nil {
			h.minLevel = opts.Level
		}
		if opts.MapLevel != nil {
			h.mapLevel = opts.MapLevel
		}
	}
	return h
}

// Enabled reports whether level is at least HandlerOptions.Level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.minLevel.Level()
}

type handlingKey struct{}

// Handle logs r as an event and returns the Logger's error (see
// [audit.Logger.LogEvent]). The event is logged even when ctx has been
// cancelled; ctx's values, such as the attribution, still apply.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Value(handlingKey{}) != nil {
		return nil // printed back to us by Options.Printer: do not loop
	}
	b := builder{typ: h.typ, level: h.level}
	b.params = make([]audit.Param, 0, len(h.params)+r.NumAttrs())
	b.params = append(b.params, h.params...)
	r.Attrs(func(a slog.Attr) bool {
		b.add(h.prefix, a)
		return true
	})
	e := audit.Event{
		Time:    r.Time,
		Level:   b.level,
		Type:    b.typ,
		Message: r.Message,
		Params:  b.params,
	}
	if e.Level == 0 {
		e.Level = h.mapLevel(r.Level)
	}
	if e.Level == audit.LevelError {
		e.StackTrace = callstack.FromPC(r.PC)
	}
	ctx = context.WithValue(context.WithoutCancel(ctx), handlingKey{}, true)
	return h.logger.LogEvent(ctx, e)
}

// WithAttrs returns a Handler that adds attrs to every event, in the groups
// open in h.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	n := *h
	b := builder{typ: h.typ, level: h.level, params: append([]audit.Param(nil), h.params...)}
	for _, a := range attrs {
		b.add(h.prefix, a)
	}
	n.params, n.typ, n.level = b.params, b.typ, b.level
	return &n
}

// WithGroup returns a Handler that puts the attributes that follow in the
// group name: their param keys start with "name.". An empty name is ignored.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

// builder collects the params of an event and the type and level that its
// attributes set.
type builder struct {
	params []audit.Param
	typ    string
	level  audit.Level
}

func (b *builder) add(prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range attrs {
			b.add(prefix, ga)
		}
		return
	}
	if a.Key == "" {
		return
	}
	if prefix == "" {
		switch a.Key {
		case TypeKey:
			if v.Kind() == slog.KindString {
				b.typ = v.String()
				return
			}
		case LevelKey:
			if l, ok := levelOf(v); ok {
				b.level = l
				return
			}
		}
	}
	b.params = append(b.params, audit.Param{Key: prefix + a.Key, Value: value(v)})
}

func levelOf(v slog.Value) (audit.Level, bool) {
	switch v.Kind() {
	case slog.KindAny:
		if l, ok := v.Any().(audit.Level); ok && l.Valid() {
			return l, true
		}
	case slog.KindString:
		if l, err := audit.ParseLevel(v.String()); err == nil {
			return l, true
		}
	}
	return 0, false
}

// value converts a resolved, non-group slog value.
func value(v slog.Value) audit.Value {
	switch v.Kind() {
	case slog.KindString:
		return audit.StringValue(v.String())
	case slog.KindInt64:
		return audit.Int64Value(v.Int64())
	case slog.KindUint64:
		return audit.Uint64Value(v.Uint64())
	case slog.KindFloat64:
		return audit.Float64Value(v.Float64())
	case slog.KindBool:
		return audit.BoolValue(v.Bool())
	case slog.KindDuration:
		return audit.DurationValue(v.Duration())
	case slog.KindTime:
		return audit.TimeValue(v.Time())
	}
	return audit.AnyValue(v.Any())
}
