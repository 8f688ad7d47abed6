// Package auditslog connects log/slog to the audit Logger: [Handler] is a
// [slog.Handler] that turns slog records into audit events, so a service can
// keep its slog.Logger calls and get an audit trail.
//
// # Records become events
//
// A record becomes one event, logged with [audit.Logger.LogEvent] and the
// record's context, so the attribution that [audit.WithSubject] put in the
// context (the user and session of a request) applies:
//
//   - the message is the event's message, and the record's time its time (a
//     record without a time gets the Logger's clock);
//   - the level maps to an audit level: Debug to debug, Info to info, Warn to
//     warning, Error to error (see [DefaultLevel] and
//     [HandlerOptions.MapLevel]); an attribute [LevelKey] ("audit.level")
//     chooses the audit level itself, so slog can record audit and usage
//     events: slog.Info("order placed", auditslog.Level(audit.LevelAudit));
//   - an attribute [TypeKey] ("audit.type") outside any group sets the record type
//     (Datagrok's friendly_name) and is not kept as a param: see [Type];
//   - every other attribute is a param; groups flatten to dotted keys, so
//     slog.Group("req", "method", "GET") is the param "req.method";
//     [slog.LogValuer] values are resolved first, so a type can redact
//     itself; attributes with an empty key are dropped (groups with an empty
//     key are inlined, as slog specifies);
//   - error-level events get the record's call site (slog.Record.PC) as a
//     one-frame stack trace, so errors logged from the same line group by
//     [audit.Event.Fingerprint].
//
// The Handler passes testing/slogtest.
//
// # The other direction
//
// [audit.Options.Printer] writes the events that settings route to print to
// a *slog.Logger: the service's own log, with the same keys (audit.level,
// audit.type, audit.user_id, ...; see the audit package, section JSON). Give it a slog.Logger that writes
// somewhere else (a text or JSON handler), not one whose handler is a
// Handler of the same Logger: each event would then be recorded a second
// time, as a record of slog's. (The Handler drops records that come back to
// it that way, so it does not loop forever.)
package auditslog
