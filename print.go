package audit

import (
	"context"
	"log/slog"
	"time"
)

var slogLevels = [...]slog.Level{
	LevelDebug:   slog.LevelDebug,
	LevelInfo:    slog.LevelInfo,
	LevelWarning: slog.LevelWarn,
	LevelError:   slog.LevelError,
	LevelAudit:   slog.LevelInfo,
	LevelUsage:   slog.LevelInfo,
}

// slogLevel returns the slog level an audit level is printed at.
func slogLevel(l Level) slog.Level {
	if l.Valid() {
		return slogLevels[l]
	}
	return slog.LevelInfo
}

// printEvent writes e to the service's own log (Options.Printer): the
// event's message as the record's, its other fields as attributes named as
// in its JSON shape with the prefix "audit." (audit.id, audit.level,
// audit.type, audit.user_id, audit.session_id, audit.duration_ms,
// audit.fingerprint), and its params in the group audit.params.
func printEvent(ctx context.Context, to *slog.Logger, e *Event) {
	if ctx == nil {
		ctx = context.Background()
	}
	level := slogLevel(e.Level)
	if !to.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("audit.level", e.Level.String()), slog.String("audit.type", e.Type), slog.String("audit.id", e.ID.String()))
	if e.UserID != "" {
		attrs = append(attrs, slog.String("audit.user_id", e.UserID))
	}
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("audit.session_id", e.SessionID))
	}
	if e.Duration != 0 {
		attrs = append(attrs, slog.Float64("audit.duration_ms", float64(e.Duration)/float64(time.Millisecond)))
	}
	if e.Fingerprint != "" {
		attrs = append(attrs, slog.String("audit.fingerprint", e.Fingerprint))
	}
	if len(e.Params) > 0 {
		ps := make([]any, 0, len(e.Params))
		for _, p := range e.Params {
			ps = append(ps, slog.Any(p.Key, p.Value.Any()))
		}
		attrs = append(attrs, slog.Group("audit.params", ps...))
	}
	to.LogAttrs(ctx, level, e.Message, attrs...)
}
