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
