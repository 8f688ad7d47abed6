package audithttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/auditkit/audit"
)

// ClientParam is the param that marks an event sent by a browser through
// [Ingest]; its value is "browser".
const ClientParam = "client"

// IngestOptions configure [Ingest]. The zero value (or nil) means the
// defaults.
type IngestOptions struct {
	// Subject returns who the records of a request are attributed to: the
	// user and session the service's own authentication established (its
	// session cookie or token), never ids the client sends. Default: the
	// attribution in the request context ([audit.SubjectFrom]), as
	// [Middleware] with Options.Subject puts it there. A request without a
	// user is refused with 401.
	Subject func(*http.Request) audit.Subject
	// Levels are the levels a browser may send. Default debug, info,
	// warning, error and usage: not audit, whose records (audit, log) say
	// what the server did and are for the server to write.
	Levels []audit.Level
	// MaxRecordBytes caps the JSON size of one record. Default 16 KiB.
	MaxRecordBytes int
	// MaxBatchBytes caps the size of a request body. Default 256 KiB.
	MaxBatchBytes int64
	// MaxBatchRecords caps the records of one request. Default 100.
	MaxBatchRecords int
	// Rate is how many records per second a user may send, on average;
	// Burst how many at once. Defaults 20 and 200. Burst must be at least
	// MaxBatchRecords.
	Rate  float64
	Burst int
	// Origins are the origins ("https://app.example.com") besides the
	// server's own whose pages may post records. A request from any other
	// origin (its Origin header, or Sec-Fetch-Site cross-site) is refused
	// with 403: a page of another site could otherwise post records that
	// the browser's cookies attribute to the signed-in user. Default none.
	Origins []string
	// Now is the clock of the rate limit. Default time.Now.
	Now func() time.Time
}

func (o IngestOptions) withDefaults() IngestOptions {
	if o.Subject == nil {
		o.Subject = func(r *http.Request) audit.Subject {
			s, _ := audit.SubjectFrom(r.Context())
			return s
		}
	}
	if o.Levels == nil {
		o.Levels = []audit.Level{audit.LevelDebug, audit.LevelInfo, audit.LevelWarning, audit.LevelError, audit.LevelUsage}
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = 16 << 10
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = 256 << 10
	}
	if o.MaxBatchRecords == 0 {
		o.MaxBatchRecords = 100
	}
	if o.Rate == 0 {
		o.Rate = 20
	}
	if o.Burst == 0 {
		o.Burst = max(200, o.MaxBatchRecords)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o IngestOptions) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("audithttp: %w: "+format, append([]any{audit.ErrInvalidOptions}, args...)...))
	}
	for i, l := range o.Levels {
		if !l.Valid() {
			bad("Levels[%d]: invalid level %d", i, uint8(l))
		}
	}
	if o.MaxRecordBytes < 0 {
		bad("MaxRecordBytes %d is negative", o.MaxRecordBytes)
	}
	if o.MaxBatchBytes < 0 {
		bad("MaxBatchBytes %d is negative", o.MaxBatchBytes)
	}
	if o.MaxBatchRecords < 0 {
		bad("MaxBatchRecords %d is negative", o.MaxBatchRecords)
	}
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		bad("Rate %v is not a positive number", o.Rate)
	}
	if o.Burst < o.MaxBatchRecords {
		bad("Burst %d is below MaxBatchRecords %d: a full batch could never pass", o.Burst, o.MaxBatchRecords)
	}
	return errors.Join(errs...)
}

// Ingest returns a handler that takes in the records a browser logs, in
// the shape of Datagrok's JS Logger, and logs them with logger, attributed
// to the request's user and session. See the package documentation,
// section Events from the browser, for the protocol. It fails only for
// invalid options.
func Ingest(logger *audit.Logger, opts *IngestOptions) (http.Handler, error) {
	var o IngestOptions
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		return nil, fmt.Errorf("audithttp: %w: nil logger", audit.ErrInvalidOptions)
	}
	h := &ingest{logger: logger, opts: o, buckets: map[string]*bucket{}, sweepAt: maxBuckets}
	for _, l := range o.Levels {
		h.levels |= 1 << l
	}
	return h, nil
}

type ingest struct {
	logger *audit.Logger
	opts   IngestOptions
	levels uint8 // bit l set for each level a browser may send

	mu      sync.Mutex
	buckets map[string]*bucket // by user id
	sweepAt int                // the size of buckets that triggers a sweep
}

// record is one record as the JS Logger posts it.
type record struct {
	Level      string          `json:"level"`
	Message    json.RawMessage `json:"message"`
	Params     json.RawMessage `json:"params"`
	Type       string          `json:"type"`
	StackTrace string          `json:"stackTrace"`
}

// ingestError is a 4xx or 5xx answer: its status and what was wrong.
type ingestError struct {
	status int
	msg    string
	// accepted is, for a 503, how many records of the batch were logged
	// before the logger refused one; the client resends the others.
	accepted int
}

func refuse(status int, format string, args ...any) *ingestError {
	return &ingestError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (h *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeRefusal(w, refuse(http.StatusMethodNotAllowed, "use POST"))
		return
	}
	n, e := h.serve(w, r)
	if e != nil {
		writeRefusal(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "{\"accepted\":%d}\n", n)
}

func (h *ingest) serve(w http.ResponseWriter, r *http.Request) (int, *ingestError) {
	if !h.sameOrigin(r) {
		return 0, refuse(http.StatusForbidden, "records from origin %q are not accepted", r.Header.Get("Origin"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// text/plain is what navigator.sendBeacon sends for a string body,
		// with no CORS preflight.
		if err != nil || (mt != "application/json" && mt != "text/plain") {
			return 0, refuse(http.StatusUnsupportedMediaType, "content type %q: want application/json", ct)
		}
	}
	subject := h.opts.Subject(r)
	if subject.UserID == "" {
		return 0, refuse(http.StatusUnauthorized, "no authenticated user")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBatchBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return 0, refuse(http.StatusRequestEntityTooLarge, "batch larger than %d bytes", h.opts.MaxBatchBytes)
		}
		return 0, refuse(http.StatusBadRequest, "reading the body: %v", err)
	}
	events, e := h.decode(body)
	if e != nil {
		return 0, e
	}
	if wait := h.take(subject.UserID, len(events)); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return 0, refuse(http.StatusTooManyRequests, "more than %v records per second; retry in %s", h.opts.Rate, wait.Round(time.Millisecond))
	}
	// A beacon's page may be gone: its request context is not what bounds
	// the logging; the Logger's own queue timeout is.
	ctx := audit.WithSubject(context.WithoutCancel(r.Context()), subject)
	for i, ev := range events {
		if err := h.logger.LogEvent(ctx, ev); err != nil {
			return 0, &ingestError{status: http.StatusServiceUnavailable, msg: "the audit log refused a record: " + err.Error(), accepted: i}
		}
	}
	return len(events), nil
}

// sameOrigin reports whether r comes from a page of the server itself, of
// one of Options.Origins, or from no browser page at all (no Origin header,
// no cross-site Sec-Fetch-Site).
func (h *ingest) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	if slices.Contains(h.opts.Origins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

// decode validates the whole batch before any of it is logged, so that a
// refused batch logs nothing.
func (h *ingest) decode(body []byte) ([]audit.Event, *ingestError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, refuse(http.StatusBadRequest, "want a JSON array of records")
	}
	if !utf8.Valid(body) {
		return nil, refuse(http.StatusBadRequest, "the body is not valid UTF-8")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, refuse(http.StatusBadRequest, "malformed JSON: %v", err)
	}
	if len(raws) == 0 {
		return nil, refuse(http.StatusBadRequest, "empty batch")
	}
	if len(raws) > h.opts.MaxBatchRecords {
		return nil, refuse(http.StatusRequestEntityTooLarge, "%d records: at most %d a batch", len(raws), h.opts.MaxBatchRecords)
	}
	events := make([]audit.Event, len(raws))
	for i, raw := range raws {
		if len(raw) > h.opts.MaxRecordBytes {
			return nil, refuse(http.StatusRequestEntityTooLarge, "record %d: %d bytes, at most %d", i, len(raw), h.opts.MaxRecordBytes)
		}
		ev, err := h.event(raw)
		if err != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "record %d: %v", i, err)
		}
		events[i] = ev
	}
	return events, nil
}

// event turns one record into an event, or says what is wrong with it.
func (h *ingest) event(raw json.RawMessage) (audit.Event, error) {
	var rec record
	if len(raw) == 0 || raw[0] != '{' {
		return audit.Event{}, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return audit.Event{}, err
	}
	level, err := audit.ParseLevel(rec.Level)
	if err != nil {
		return audit.Event{}, fmt.Errorf("level %q: want one of debug, info, warning, error, audit, usage", rec.Level)
	}
	if h.levels&(1<<level) == 0 {
		return audit.Event{}, fmt.Errorf("level %s: not accepted from a browser", level)
	}
	msg, err := recordMessage(rec.Message)
	if err != nil {
		return audit.Event{}, err
	}
	params, err := recordParams(rec.Params)
	if err != nil {
		return audit.Event{}, err
	}
	params = append(params, audit.Param{Key: ClientParam, Value: audit.StringValue("browser")})
	return audit.Event{Level: level, Type: rec.Type, Message: msg, Params: params, StackTrace: rec.StackTrace}, nil
}

// recordMessage reads a record's message: a string, or absent.
func recordMessage(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("message: not a string")
	}
	return s, nil
}

// recordParams reads a record's params: a JSON object whose values are
// kept as they are typed: strings, numbers (integers as int64 when they
// fit, else float64), booleans, null, object references {"kind", "id"},
// and any other object or array as JSON. The key "client" is the
// server's.
func recordParams(raw json.RawMessage) ([]audit.Param, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, errors.New("params: not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("params: %v", err)
	}
	out := make([]audit.Param, 0, len(m)+1)
	for k, v := range m {
		switch {
		case k == "":
			return nil, errors.New("params: an empty key")
		case k == ClientParam:
			return nil, fmt.Errorf("params: %q is set by the server", ClientParam)
		}
		out = append(out, audit.Param{Key: k, Value: jsonValue(v)})
	}
	return out, nil
}

// jsonValue converts a JSON value to the Value it stands for.
func jsonValue(raw json.RawMessage) audit.Value {
	switch raw[0] {
	case 'n':
		return audit.Value{}
	case 't', 'f':
		return audit.BoolValue(raw[0] == 't')
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return audit.StringValue(s)
		}
	case '{':
		var ref struct {
			Kind *string `json:"kind"`
			ID   *string `json:"id"`
		}
		var keys map[string]json.RawMessage
		if json.Unmarshal(raw, &keys) == nil && len(keys) == 2 && json.Unmarshal(raw, &ref) == nil &&
			ref.Kind != nil && ref.ID != nil && *ref.Kind != "" {
			return audit.EntityValue(audit.Ref(*ref.Kind, *ref.ID))
		}
	case '[':
	default: // a number
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return audit.Int64Value(n)
		}
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return audit.Float64Value(f)
		}
	}
	return audit.JSONValue(raw)
}

// take takes n tokens from the user's bucket, or returns how long until
// they would be there (taking none).
func (h *ingest) take(user string, n int) time.Duration {
	now := h.opts.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.buckets[user]
	if b == nil {
		if len(h.buckets) >= h.sweepAt {
			h.sweep(now)
			// Sweep again when the map has doubled: amortized O(1) per
			// new user even when every user is active.
			h.sweepAt = max(maxBuckets, 2*len(h.buckets))
		}
		b = &bucket{tokens: float64(h.opts.Burst), at: now}
		h.buckets[user] = b
	}
	b.refill(now, h.opts.Rate, float64(h.opts.Burst))
	if b.tokens < float64(n) {
		return time.Duration((float64(n) - b.tokens) / h.opts.Rate * float64(time.Second))
	}
	b.tokens -= float64(n)
	return 0
}

// maxBuckets bounds the users whose rate the handler remembers; past it,
// the full buckets (users idle long enough to have their whole burst
// back) are forgotten, which changes nothing for them.
const maxBuckets = 10000

func (h *ingest) sweep(now time.Time) {
	for u, b := range h.buckets {
		b.refill(now, h.opts.Rate, float64(h.opts.Burst))
		if b.tokens >= float64(h.opts.Burst) {
			delete(h.buckets, u)
		}
	}
}

// bucket is a token bucket: tokens at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time, rate, burst float64) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
		b.at = now
	}
}

// writeRefusal answers with e's status and a JSON body saying what was
// wrong: {"error": "...", "accepted": n}.
func writeRefusal(w http.ResponseWriter, e *ingestError) {
	body, _ := json.Marshal(struct {
		Error    string `json:"error"`
		Accepted int    `json:"accepted"`
	}{e.msg, e.accepted})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	w.Write(append(body, '\n'))
}

//go:embed client.js
var clientJS []byte

// clientETag names the version of clientJS, so that browsers revalidate it
// cheaply.
var clientETag = fmt.Sprintf(`"%x"`, sha256.Sum256(clientJS))

// Client returns a handler that serves the browser client, an ES module
// with no dependencies (see the package documentation):
//
//	mux.Handle("GET /audit.js", audithttp.Client())
//	<script type="module">import {Logger} from '/audit.js'; ...</script>
func Client() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("ETag", clientETag)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "audit.js", time.Time{}, bytes.NewReader(clientJS))
	})
}
