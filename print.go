package audit

import (
	"context"
	"log/slog"
)

var slogLevels = [...]slog.Level{
	LevelDebug:   slog.LevelDebug,
	LevelInfo:    slog.LevelInfo,
	LevelWarning: slog.LevelWarn,
	LevelError:   slog.LevelError,
	LevelAudit:   slog.LevelInfo,
	LevelUsage:   slog.LevelInfo,
}

// SlogLevel returns the slog level an audit level is printed at.
func SlogLevel(l Level) slog.Level {
	if l.Valid() {
		return slogLevels[l]
	}
	return slog.LevelInfo
}

// printEvent writes e to the service's own log (Options.Printer).
func printEvent(ctx context.Context, to *slog.Logger, e *Event) {
	if ctx == nil {
		ctx = context.Background()
	}
	level := SlogLevel(e.Level)
	if !to.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("audit.level", e.Level.String()), slog.String("audit.type", e.Type), slog.String("audit.id", e.ID.String()))
	if e.UserID != "" {
		attrs = append(attrs, slog.String("audit.user", e.UserID))
	}
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("audit.session", e.SessionID))
	}
	if e.Duration != 0 {
		attrs = append(attrs, slog.Duration("audit.duration", e.Duration))
	}
	if e.Fingerprint != "" {
		attrs = append(attrs, slog.String("audit.fingerprint", e.Fingerprint))
	}
	if len(e.Params) > 0 {
		ps := make([]any, 0, len(e.Params))
		for _, p := range e.Params {
			ps = append(ps, slog.Any(p.Key, p.Value.Any()))
		}
		attrs = append(attrs, slog.Group("params", ps...))
	}
	to.LogAttrs(ctx, level, e.Message, attrs...)
}
