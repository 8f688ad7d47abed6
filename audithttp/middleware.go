package audithttp

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/callstack"
)

// Param names of request events, besides [audit.MSParam] ("ms").
const (
	// MethodParam holds the request method.
	MethodParam = "method"
	// RouteParam holds the route: the ServeMux pattern, see Options.Route.
	RouteParam = "route"
	// StatusParam holds the response status, an int64.
	StatusParam = "status"
	// ErrorFingerprintParam, on the request event of a handler that
	// panicked, holds the Fingerprint of the panic's error event.
	ErrorFingerprintParam = "error_fingerprint"
	// AbortedParam is true on the request event of a handler that panicked
	// with http.ErrAbortHandler.
	AbortedParam = "aborted"
	// HijackedParam is true on the request event of a handler that took
	// over the connection without sending a status through net/http; such
	// an event has no StatusParam.
	HijackedParam = "hijacked"
	// ClientIPParam holds the client's address: see Options.TrustedProxies.
	ClientIPParam = "client_ip"
	// UserAgentParam holds the User-Agent header, when the client sent one.
	UserAgentParam = "user_agent"
	// RequestIDParam holds the request id: see Options.RequestIDHeader.
	RequestIDParam = "request_id"
)

// Options configure [Middleware]. The zero value (or nil) means the defaults.
type Options struct {
	// Subject returns who the request is attributed to; it is called before
	// the handler, and its result is put in the request context with
	// [audit.WithSubject] when it is not empty. Default nil: the attribution
	// already in the request context, if any, is used.
	Subject func(*http.Request) audit.Subject
	// Route returns the route of a request, called after the handler with
	// the request the handler was given. Default: r.Pattern, the pattern of
	// the ServeMux route that matched; empty when none did (the mux's 404).
	Route func(*http.Request) string
	// Skip, when it returns true, keeps a request (a health check, say) out
	// of the log. Its context is still attributed and its panics still
	// recovered and logged. Default nil: every request is recorded.
	Skip func(*http.Request) bool
	// Type is the record type of request events. Default [audit.TypeHTTPRequest].
	Type string

	// TrustedProxies are the proxies (load balancers, ingress) whose
	// ForwardedHeader is believed. The client is the peer of the
	// connection, unless the peer is a trusted proxy: then the header is
	// read from the right, skipping trusted proxies, and the first address
	// that is not one is the client. Default none: the header is ignored
	// and the client is the peer, so a client cannot choose its address.
	// A single address is a /32 (or /128) prefix; an invalid (zero)
	// prefix trusts nothing.
	TrustedProxies []netip.Prefix
	// ForwardedHeader is the header the trusted proxies set: X-Forwarded-For
	// or another of its shape (X-Real-Ip), or Forwarded (RFC 7239, its for=
	// parameters). Only this header is read, so a client cannot smuggle an
	// address through another one that the proxies pass on untouched.
	// Default "X-Forwarded-For".
	ForwardedHeader string
	// RequestIDHeader is the header carrying the request id. An incoming
	// id (1 to 128 printable ASCII characters, no spaces) is kept; otherwise
	// a new one (a UUIDv7) is made. Either way it is set on the response
	// header of the same name before the handler runs, recorded as the
	// param request_id, and available to handlers with [RequestID].
	// Default "X-Request-Id".
	RequestIDHeader string
	// Params, when set, returns params to add to the request event,
	// called after the handler with the request the handler was given (its
	// context holds what the handler's middlewares added). Params named
	// like the middleware's own replace them.
	Params func(*http.Request) []audit.Param
}

// Middleware returns a function that wraps a handler so that each request is
// recorded by logger as a usage event, handlers' events are attributed, and
// panics are recovered into error events: see the package documentation.
// Errors of logging are not returned to anyone: the Logger reports dropped
// events to its Options.ErrorHandler.
func Middleware(logger *audit.Logger, opts *Options) func(http.Handler) http.Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Route == nil {
		o.Route = func(r *http.Request) string { return r.Pattern }
	}
	if o.Type == "" {
		o.Type = audit.TypeHTTPRequest
	}
	if o.ForwardedHeader == "" {
		o.ForwardedHeader = "X-Forwarded-For"
	}
	if o.RequestIDHeader == "" {
		o.RequestIDHeader = "X-Request-Id"
	}
	o.TrustedProxies = append([]netip.Prefix(nil), o.TrustedProxies...)
	for i, p := range o.TrustedProxies {
		o.TrustedProxies[i] = p.Masked()
	}
	return func(next http.Handler) http.Handler {
		return &handler{logger: logger, opts: o, next: next, requestIDKey: http.CanonicalHeaderKey(o.RequestIDHeader)}
	}
}

type handler struct {
	logger       *audit.Logger
	opts         Options
	next         http.Handler
	requestIDKey string // Options.RequestIDHeader, canonical
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.logger.Now()
	rc := &requestContext{Context: r.Context()}
	req := &rc.req
	req.id = r.Header.Get(h.opts.RequestIDHeader)
	if !validRequestID(req.id) {
		req.id = newRequestID()
	}
	req.header[0] = req.id
	w.Header()[h.requestIDKey] = req.header[:]
	req.clientIP, _ = h.clientIP(r)
	var ctx context.Context = rc
	if h.opts.Subject != nil {
		if s := h.opts.Subject(r); !empty(s) {
			ctx = audit.WithSubject(ctx, s)
		}
	}
	r = r.WithContext(ctx)
	rw := &responseWriter{ResponseWriter: w}
	returned := false
	defer func() {
		if returned {
			h.record(r, rw, start, nil)
			return
		}
		v := recover()
		switch {
		case v == nil: // runtime.Goexit
			h.record(r, rw, start, nil)
		case v == http.ErrAbortHandler:
			h.record(r, rw, start, []audit.Param{{Key: AbortedParam, Value: audit.BoolValue(true)}})
			panic(v)
		default:
			h.recovered(r, rw, start, &audit.PanicError{Value: v, Stack: callstack.Panic()})
		}
	}()
	h.next.ServeHTTP(rw, r)
	returned = true
}

// recovered logs the panic of a handler and answers 500 when it still can.
func (h *handler) recovered(r *http.Request, rw *responseWriter, start time.Time, pe *audit.PanicError) {
	ctx := context.WithoutCancel(r.Context())
	route := h.opts.Route(r)
	e := audit.Event{
		Level:      audit.LevelError,
		Type:       audit.TypeError,
		Message:    pe.Error(),
		StackTrace: pe.Stack,
		Params: []audit.Param{
			{Key: MethodParam, Value: audit.StringValue(r.Method)},
			{Key: RouteParam, Value: audit.StringValue(route)},
			{Key: audit.ErrorTypeParam, Value: audit.StringValue(typeName(pe.Value))},
			{Key: RequestIDParam, Value: audit.StringValue(RequestID(r.Context()))},
		},
	}
	_ = h.logger.LogEvent(ctx, e)
	extra := []audit.Param{{Key: ErrorFingerprintParam, Value: audit.StringValue(audit.Fingerprint(pe.Stack))}}
	if rw.wrote || rw.hijacked {
		h.record(r, rw, start, extra)
		panic(http.ErrAbortHandler)
	}
	http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	h.record(r, rw, start, extra)
}

// record logs the request event.
func (h *handler) record(r *http.Request, rw *responseWriter, start time.Time, extra []audit.Param) {
	if h.opts.Skip != nil && h.opts.Skip(r) {
		return
	}
	d := h.logger.Now().Sub(start)
	route := h.opts.Route(r)
	ps := make([]audit.Param, 0, 7+len(extra))
	ps = append(ps,
		audit.Param{Key: MethodParam, Value: audit.StringValue(r.Method)},
		audit.Param{Key: RouteParam, Value: audit.StringValue(route)},
		audit.Param{Key: audit.MSParam, Value: audit.Int64Value(d.Milliseconds())},
	)
	switch {
	case rw.hijacked && !rw.wrote:
		ps = append(ps, audit.Param{Key: HijackedParam, Value: audit.BoolValue(true)})
	default:
		status := rw.status
		if !rw.wrote {
			status = http.StatusOK // what net/http sends for a handler that wrote nothing
		}
		ps = append(ps, audit.Param{Key: StatusParam, Value: audit.Int64Value(int64(status))})
	}
	ps = append(ps, extra...)
	ps = appendRequestParams(ps, r)
	if h.opts.Params != nil {
		ps = append(ps, h.opts.Params(r)...)
	}
	e := audit.Event{
		Time:     start,
		Level:    audit.LevelUsage,
		Type:     h.opts.Type,
		Message:  message(r.Method, route),
		Params:   ps,
		Duration: d,
	}
	_ = h.logger.LogEvent(context.WithoutCancel(r.Context()), e)
}

// message is "METHOD /path/{pattern}", the pattern without its own method.
func message(method, route string) string {
	if route == "" {
		return method + " (no route)"
	}
	if m, rest, ok := strings.Cut(route, " "); ok && !strings.Contains(m, "/") {
		route = strings.TrimLeft(rest, " \t")
	}
	return method + " " + route
}

// appendRequestParams appends the client_ip, user_agent and request_id of r.
func appendRequestParams(ps []audit.Param, r *http.Request) []audit.Param {
	if req, ok := r.Context().Value(requestKey{}).(*request); ok {
		ps = append(ps, audit.Param{Key: RequestIDParam, Value: audit.StringValue(req.id)})
		if req.clientIP.IsValid() {
			ps = append(ps, audit.Param{Key: ClientIPParam, Value: audit.StringValue(req.clientIP.String())})
		}
	}
	if ua := r.UserAgent(); ua != "" {
		ps = append(ps, audit.Param{Key: UserAgentParam, Value: audit.StringValue(ua)})
	}
	return ps
}

func empty(s audit.Subject) bool {
	return s.UserID == "" && s.SessionID == "" && s.Package == "" && len(s.Groups) == 0
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }
