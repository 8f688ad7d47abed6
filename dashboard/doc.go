// Package dashboard serves the audit log's Usage Analysis dashboard in the
// browser: an [http.Handler] a service mounts under any path (it works under
// [http.StripPrefix]; its links are relative), behind its own
// authentication. It reads the store through [analysis] and never writes
// to it; it changes the logger settings only when Options.SettingsWrite
// allows it (see Settings below).
//
//	h, err := dashboard.New(store, dashboard.Options{})
//	defer h.Close(ctx)
//	mux.Handle("/audit/", http.StripPrefix("/audit", h))
//
// # Views
//
// Every view keeps its time range and filters (user, group, level) in the
// URL query, so a view can be shared by its address:
//
//   - Overview: active users, new users, sessions, events and errors, each
//     with the previous window of the same length; unique users per day;
//     events per level over time, in buckets of Datagrok's rule
//     ([analysis.BucketFor]).
//   - Log: the newest events, filtered by level, type, user, group, text
//     and param value, a page at a time, with a live tail (server-sent
//     events, polled every Options.TailInterval); an event's page with its
//     params, stack trace, session and the objects it names.
//   - Usage: events by type, user, function and package (a package's
//     functions when it is picked), with drill-down links, and the least
//     used record types and menu items.
//   - Functions: calls, failures, users and durations per function; the
//     calls with their inputs and outputs.
//   - Errors: groups by stack fingerprint with count, users affected, first
//     and last seen and a stack; errors over time; the actions that lead to
//     them.
//   - Performance: p50/p95/p99 durations and error rates per HTTP route and
//     per record type, and of one of them (the busiest route unless
//     another is picked) over time.
//   - Patterns: clusters of users by usage, and their groups.
//   - Object: an object's activity, usage and history.
//   - Settings: the policy of Options.Settings or Options.SettingsStore
//     (the Postgres store, *pgsettings.Source): the effective settings of
//     the user and group of the filters (with the groups Options.Groups
//     gives the user), the rules (the presets per user and group), and
//     the version history of the store.
//
// # Changing settings
//
// With Options.SettingsWrite (and a SettingsStore), the Settings view also
// edits the policy (its JSON, validated as [settings.Parse] does, with a
// comment) and reverts to an earlier version. Both are POST forms to the
// view's own address, refused unless they come from the same origin
// ([http.CrossOriginProtection]: Sec-Fetch-Site, or Origin against Host)
// and carry the form token of the logged-in user (an HMAC of the name
// Options.User returns for the request, under a key made at New). Each
// version made is attributed to that user. Without SettingsWrite no
// handler accepts a POST.
//
// The time range and the user, group and level filters apply to every
// view of the events (the scope of its analysis requests, see
// [analysis.Scope]; groups as Options.Groups and the store's directory
// tell). The page is server-rendered HTML with a small script and uPlot (embedded;
// nothing is fetched from elsewhere) for the charts; it follows the
// browser's light or dark mode.
package dashboard
