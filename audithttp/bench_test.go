package audithttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
)

// discardStore accepts every batch, so the figures are the middleware's and
// the Logger's own cost.
type discardStore struct{}

func (discardStore) Write(context.Context, []audit.Event) error { return nil }

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddleware: a request through a ServeMux alone (the anchor),
// through the middleware with its defaults, and behind trusted proxies with
// a forwarded chain, a request id and the RequestParams callback.
func BenchmarkMiddleware(b *testing.B) {
	logger, err := audit.New(audit.Options{Store: discardStore{}, ErrorHandler: func(error) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer logger.Close(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	proxied := httptest.NewRequest("GET", "/items/42", nil)
	proxied.RemoteAddr = "10.1.2.3:41000"
	proxied.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.23, 10.0.0.7")
	proxied.Header.Set("X-Request-Id", "req-8f2c")
	proxied.Header.Set("User-Agent", "bench/1.0")

	cases := []struct {
		name    string
		handler http.Handler
		req     *http.Request
	}{
		{"mux", mux, httptest.NewRequest("GET", "/items/42", nil)},
		{"middleware", audithttp.Middleware(logger, nil)(mux), httptest.NewRequest("GET", "/items/42", nil)},
		{"middleware-proxied", audithttp.Middleware(logger.WithCallback(audithttp.RequestParams), &audithttp.Options{
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		})(mux), proxied},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.handler.ServeHTTP(w, c.req)
			}
		})
	}
}
