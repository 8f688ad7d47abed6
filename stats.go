package audit

// Stats counts what happened to the events a [Logger] was given. Counters are
// totals since New. At rest (after Flush), for the store:
// Logged = Written + Failed, and every event ever offered is in Logged or
// Dropped.
type Stats struct {
	// Logged counts events accepted for the store (queued, or written in
	// Sync mode). Events the policy routes away from the store are not
	// counted.
	Logged uint64
	// Written counts events the store committed.
	Written uint64
	// Dropped counts events that were never queued: the queue was full, or
	// the Logger was closed (those are also counted in Refused). Each drop is
	// returned to the caller, and summarized to Options.ErrorHandler in a
	// [DropReport].
	Dropped uint64
	// Failed counts queued events given up: refused by the store with a
	// permanent error, out of attempts, or still unwritten when Close's
	// deadline passed. Each is reported to Options.ErrorHandler.
	Failed uint64
	// Retried counts batch write attempts that failed and were retried.
	Retried uint64
	// Refused counts logging calls refused with ErrClosed (the Logger was
	// closed).
	Refused uint64
	// QueueDepth is the number of events waiting for the store now (with
	// Options.Spool, the records in the spool the store has not read yet).
	QueueDepth int
	// Sinks has one entry per sink, in Options.Sinks order.
	Sinks []SinkStats
}

// SinkStats counts one destination's deliveries (see [Stats]).
type SinkStats struct {
	// Name is the sink's [Namer] name, or its type and position.
	Name string
	// Logged counts events queued for this destination.
	Logged uint64
	// Written counts events delivered.
	Written uint64
	// Dropped counts events not queued because this destination's queue was
	// full, summarized to Options.ErrorHandler in [DropReport]s.
	Dropped uint64
	// Failed counts queued events given up.
	Failed uint64
	// Retried counts failed attempts that were retried.
	Retried uint64
	// QueueDepth is the number of events waiting now.
	QueueDepth int
}
