package audithttp

import (
	"context"
	"net/netip"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
)

// maxRequestIDLen bounds an incoming request id; a longer one is replaced.
const maxRequestIDLen = 128

// validRequestID reports whether an incoming request id can be kept and
// echoed: 1 to 128 printable ASCII characters without spaces, so it is safe
// in a header and in logs.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string { return uuid.Must(uuid.NewV7()).String() }

type requestKey struct{}

// request is what the middleware tells the handler's context about the
// request.
type request struct {
	id       string
	clientIP netip.Addr
	header   [1]string // the response header's value, so setting it allocates nothing more
}

// requestContext carries a request in one allocation: a context.WithValue
// would take a second one.
type requestContext struct {
	context.Context
	req request
}

func (c *requestContext) Value(key any) any {
	if key == (requestKey{}) {
		return &c.req
	}
	return c.Context.Value(key)
}

// RequestID returns the request id the middleware gave the request of ctx
// (its X-Request-Id, or a new one), or "" outside the middleware.
func RequestID(ctx context.Context) string {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.id
	}
	return ""
}

// ClientIP returns the client address the middleware found for the request
// of ctx (see Options.TrustedProxies), if any.
func ClientIP(ctx context.Context) (netip.Addr, bool) {
	if r, ok := ctx.Value(requestKey{}).(*request); ok && r.clientIP.IsValid() {
		return r.clientIP, true
	}
	return netip.Addr{}, false
}

// RequestParams is an [audit.Callback] that adds the params request_id and
// client_ip of the request to every event logged with its context, so that
// the handlers' own events can be tied to their request and client. Install
// it as audit.Options.Callback or with [audit.Logger.WithCallback]. Outside
// a request it changes nothing, and it never overwrites a param the event
// already has.
func RequestParams(ctx context.Context, e *audit.Event) {
	if ctx == nil {
		return
	}
	r, ok := ctx.Value(requestKey{}).(*request)
	if !ok {
		return
	}
	if _, has := e.Param(RequestIDParam); !has && r.id != "" {
		e.Set(RequestIDParam, r.id)
	}
	if _, has := e.Param(ClientIPParam); !has && r.clientIP.IsValid() {
		e.Set(ClientIPParam, r.clientIP.String())
	}
}

var _ audit.Callback = RequestParams
