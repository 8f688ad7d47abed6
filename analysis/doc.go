// Package analysis reads the audit log back to answer the questions it is
// kept for (Datagrok's "Usage Analysis" app and context panel): which
// features nobody uses, how usage clusters and relates to groups, where an
// object came from and what happened to it, how long operations take, who
// called a function with which inputs and outputs, which errors happen and
// which actions lead to them.
//
// An [Analyzer] reads the tables of a SQL store ([New] takes a
// *postgres.Store or a *sqlite.Store, through either Postgres driver); it
// only reads, and does the heavy lifting in SQL (GROUP BY,
// window functions, percentiles), bringing back aggregates rather than
// events wherever it can.
// Each question is one method that takes a context and a request struct
// whose zero value asks the usual question, and returns a result struct of
// plain fields and slices, ready to print as a table, JSON or CSV:
//
//	a, err := analysis.New(store, analysis.Options{})
//	res, err := a.Overview(ctx, analysis.OverviewRequest{}) // the last 7 days
//
// # Windows
//
// Requests bound time with Since (inclusive) and Until (exclusive). Until
// defaults to now (Options.Now) and Since to a default length before it:
// 7 days ([DefaultWindow], Datagrok's Activity and Usage panes), or 30 days
// ([LongWindow]) for habits (Patterns, Unused). Feed and History default to
// no bound. Time buckets follow Datagrok's rule ([BucketFor]) and start at
// multiples of their width since the Unix epoch, so days are UTC days;
// every bucket of the window is reported, zeros included.
//
// # The questions
//
//   - [Analyzer.Activity]: the events that name an object (7 days), newest
//     first. [Analyzer.Usage]: counts by record type, user and day, of one
//     object or of everything.
//   - [Analyzer.Feed]: the newest events, filtered by level, type, user,
//     group and time, a page at a time; [Analyzer.Follow] delivers new ones
//     as they are stored.
//   - [Analyzer.Overview]: active users, new users (first event ever in the
//     window), sessions, events and errors, each with the previous window of
//     the same length; unique users per day; events per level over time.
//   - [Analyzer.Functions]: calls per function, user and time bucket, and
//     the table of calls with user, time, inputs, outputs, duration and
//     error (the events of audit.Logger.Call).
//   - [Analyzer.Errors]: errors grouped by stack fingerprint, with count,
//     users affected, first and last seen and a sample; and the actions that
//     lead to them, ranked by lift (see the method for the method).
//   - [Analyzer.Perf]: p50/p95/p99 of durations per record type and per
//     HTTP route, with the error rate.
//   - [Analyzer.Patterns]: each user's vector of record-type shares, and
//     clusters of users by k-means, with k chosen by silhouette, and how
//     each cluster splits across groups.
//   - [Analyzer.Unused]: record types and menu items (main-menu-item-click
//     by its item param) least used in the window, those never used
//     included.
//   - [Analyzer.History]: an object's origin (the event that produced it
//     and the objects it came from), its modifications and what was derived
//     from it.
//
// # Scope: users, groups and levels
//
// Every request embeds a [Scope]: users, groups and levels whose events the
// question keeps (none of a list: all), so that one set of filters applies
// to every question. Events record users, not groups: users and groups live
// in the host application, as in Datagrok. A group filter keeps the users
// that Options.Groups (a function from a user to the user's groups;
// [GroupMap] makes one from a map) or the store's directory
// (audit.Directory, nested groups included) puts in one of the groups.
//
// # Text
//
// Record types, user ids and param values are compared and reported byte
// for byte, as the stores keep them (see the stores' package docs on the
// _raw columns).
//
// # Rollups
//
// On Postgres, a store can keep rollup tables: per-hour and per-UTC-day
// aggregates of the events (see StartRollups and RebuildRollups of
// store/postgres). Where they cover a window, Overview, Usage (of every
// object), Unused, Patterns, Errors (the groups) and Perf (record types
// and HTTP routes) read whole days from the daily rows (whole hours when
// the chart's buckets are not whole days), whole hours from the hourly
// rows, and only the partial hours at the edges, and what the rollups do
// not cover (the hour in progress), from the events. The answers are the
// same as from the events alone, but for Perf's percentiles of record
// types and routes, which come from merged DDSketches and are within 1% of
// a duration of the rank asked for instead of interpolated. The rest reads
// the events on every store: Usage of an object and by package, the
// actions of Errors, Perf over time, and the other questions.
// Options.NoRollups makes every question read the events. A scope is
// answered from the rollups a question reads when they keep what it
// filters on: the user (rollups per user: Patterns, the groups of Errors)
// or the level (rollups per record type, whose level the registry holds:
// the record types of Unused, the record types and routes of Perf,
// Patterns); otherwise the question reads the events.
//
// # Databases
//
// The queries are shared between Postgres and SQLite and use only what both
// have: CASE, count(DISTINCT ...), window functions with ROWS frames and
// row-value comparisons. What differs is the store's database driver's: time
// buckets (Postgres 14's date_bin; integer arithmetic on SQLite's
// microsecond times), casts, and percentiles (Postgres's percentile_cont;
// on SQLite, which has none, computed in Go from the ordered durations with
// the same interpolation). Postgres 14 or later is needed.
package analysis
