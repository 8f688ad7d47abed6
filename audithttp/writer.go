package audithttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter records the status a handler sends. It implements
// http.Flusher, http.Hijacker and io.ReaderFrom by delegating to the
// ResponseWriter it wraps (through http.ResponseController, which reports
// http.ErrNotSupported when that one cannot), and Unwrap, so that
// http.ResponseController finds every other ability of the original.
type responseWriter struct {
	http.ResponseWriter
	status   int
	wrote    bool // the final header has been sent
	hijacked bool
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
	_ io.ReaderFrom = (*responseWriter)(nil)
)

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote && !w.hijacked {
		// 1xx informational headers (103 Early Hints) precede the final
		// status; 101 Switching Protocols is final.
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			w.status, w.wrote = code, true
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.implicitOK()
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) implicitOK() {
	if !w.wrote && !w.hijacked {
		w.status, w.wrote = http.StatusOK, true
	}
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends what has been written, and the header (200 if none was set).
func (w *responseWriter) Flush() {
	w.implicitOK()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes over the connection when the wrapped ResponseWriter can.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// ReadFrom copies src to the response, using the wrapped ResponseWriter's
// ReadFrom (sendfile for files) when it has one.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.implicitOK()
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// writerOnly hides every method but Write, so io.Copy does not call
// ReadFrom again.
type writerOnly struct{ io.Writer }
