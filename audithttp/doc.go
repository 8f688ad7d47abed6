// Package audithttp records the requests of a net/http server as audit
// events, and makes the request context carry the audit attribution.
//
// [Middleware] wraps a handler, usually the service's [http.ServeMux]:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /items/{id}", getItem)
//	handler := audithttp.Middleware(logger, &audithttp.Options{
//		Subject: func(r *http.Request) audit.Subject { ... from the app's auth ... },
//	})(mux)
//
// Each request becomes one usage event of type [audit.TypeHTTPRequest]
// ("http-request"), as in Datagrok, with the params method, route (the
// ServeMux pattern that matched, such as "GET /items/{id}", never the raw
// path, which may hold ids and personal data), status and ms (whole
// milliseconds; Event.Duration has the exact time), client_ip, user_agent
// (when the client sent one) and request_id. The event's time is when the
// request arrived. Options.Params adds the application's own params.
//
// # Client address
//
// client_ip is the peer of the connection, unless Options.TrustedProxies
// says the peer is one of the service's own proxies: then the header those
// proxies set (Options.ForwardedHeader: X-Forwarded-For by default, or
// Forwarded) is read from the right, and the first address that is not a
// trusted proxy is the client. Addresses a client wrote itself, to the left,
// are never believed:
//
//	audithttp.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
//
// # Request ids
//
// The request id is the request's X-Request-Id (Options.RequestIDHeader)
// when it is a sane token, or a new UUIDv7; it is set on the response
// header before the handler runs, so clients and logs can quote it, and
// handlers read it with [RequestID]. [RequestParams], as the Logger's
// callback, adds request_id and client_ip to the handlers' own events too.
//
// The session's address: stores can fill users_sessions.ip from the
// client_ip param of a session's events.
//
// # Attribution
//
// Options.Subject tells who a request is for: the user and session the
// application already knows (from its session cookie or token, typically
// put in the request context by its own authentication middleware, which
// then runs before this one). The middleware puts it in the request context
// with [audit.WithSubject], so the handlers' own events, logged with
// logger.For(r.Context()) or with a context-taking method, and the request
// event itself are attributed to it.
//
// # Panics
//
// A panic in the handler is recovered into an error event (type "error")
// with the panic's stack, so panics group by [audit.Event.Fingerprint], and
// the client gets a 500 if nothing was written yet. The request event then
// has status 500 and the param error_fingerprint linking it to the error.
// When the handler had already started the response, a 500 can no longer be
// sent: the middleware aborts the response by panicking with
// [http.ErrAbortHandler] after logging, as net/http would have for the
// original panic, so the client sees a failed response rather than a
// truncated one that looks complete. A panic with http.ErrAbortHandler
// itself is a deliberate abort: it is not an error event, the request event
// is recorded with the param aborted, and the panic continues.
//
// # Events from the browser
//
// [Ingest] takes in the records a web front end logs, as Datagrok's JS
// Logger posts them, and [Client] serves the module that logs them
// (audit.js, the JS Logger's API: log, audit, usage, info, debug, warning,
// error with its stack, a putCallback and static params; it batches
// records, posts them every few seconds, and hands them to
// navigator.sendBeacon when the page is hidden):
//
//	ingest, err := audithttp.Ingest(logger, nil)
//	mux.Handle("POST /audit/ingest", ingest)
//	mux.Handle("GET /audit.js", audithttp.Client())
//
// A request is a JSON array of records {level, message, params, type,
// stackTrace} (Content-Type application/json, or text/plain as
// sendBeacon sends). Each record becomes an event of the user and session
// that IngestOptions.Subject returns, by default the attribution that
// Middleware put in the request context: a record cannot name a user or a
// session, and a user_id param is only a param. The event's time is when
// the server received it; params are typed as their JSON values (an
// object {"kind", "id"} is an object reference, other objects and arrays
// JSON); the param client is "browser". The whole batch is validated
// before any of it is logged, and the answers are:
//
//   - 200 {"accepted": n}: every record was logged (or left out by the
//     Logger's policy).
//   - 400: not a JSON array of records, malformed JSON, invalid UTF-8, an
//     empty batch. 401: no authenticated user. 403: posted by a page of
//     another origin (IngestOptions.Origins lists others allowed), which
//     could otherwise log records in the name of a signed-in visitor. 405:
//     not POST. 415: another content type.
//   - 413: a body over MaxBatchBytes, more than MaxBatchRecords records, or
//     a record over MaxRecordBytes. 422: a record with an unknown level, a
//     level the browser may not send (audit, by default), a message that
//     is not a string, params that are not an object.
//   - 429 with Retry-After: the user sent more than Rate records a second
//     beyond a Burst; nothing of the batch is logged.
//   - 503 {"accepted": n}: the Logger refused a record (closed, or its
//     queue full past its timeout); the first n were logged, and the client
//     resends the others.
//
// Every refusal's body is {"error": "what was wrong", "accepted": n}.
//
// # Routes
//
// The route is read from [http.Request.Pattern] after the handler returns,
// on the request the middleware passed down: the ServeMux sets it there when
// it is the handler the middleware wraps. Between them, a handler that
// passes on a copy of the request (r.WithContext, [http.StripPrefix]) hides
// the pattern the inner mux sets; set Options.Route to find it another way.
//
// With another router, Options.Route reads its pattern. For chi, install
// the middleware inside the router, where chi's routing context is in the
// request context, and read the pattern from it:
//
//	router := chi.NewRouter()
//	router.Use(audithttp.Middleware(logger, &audithttp.Options{
//		Route: func(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() },
//	}))
//
// The route is then chi's pattern without the method ("/items/{id}").
package audithttp
