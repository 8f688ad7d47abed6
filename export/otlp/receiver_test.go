package otlp_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	collogpb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logpb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP/HTTP logs endpoint: it decodes each protobuf
// ExportLogsServiceRequest and keeps its records. A record whose body holds
// "refuse-me" is rejected with a partial success.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	records  []*logpb.LogRecord
	resource *resourcepb.Resource
	scope    string
	requests int
	fail     int  // answer the next fail requests with 400
	stalled  bool // answer nothing until the client gives up or Close
	done     chan struct{}
}

func newReceiver() *receiver {
	r := &receiver{done: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/v1/logs" }

func (r *receiver) Close() {
	close(r.done)
	r.srv.Close()
}

// Stall makes the receiver stop answering.
func (r *receiver) Stall() {
	r.mu.Lock()
	r.stalled = true
	r.mu.Unlock()
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/logs" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/logs application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var in collogpb.ExportLogsServiceRequest
	if err := proto.Unmarshal(raw, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests++
	if r.stalled {
		r.mu.Unlock()
		select {
		case <-req.Context().Done():
		case <-r.done:
		}
		return
	}
	if r.fail > 0 {
		r.fail--
		r.mu.Unlock()
		http.Error(w, "refused on purpose", http.StatusBadRequest)
		return
	}
	var out collogpb.ExportLogsServiceResponse
	for _, rl := range in.GetResourceLogs() {
		r.resource = rl.GetResource()
		for _, sl := range rl.GetScopeLogs() {
			r.scope = sl.GetScope().GetName()
			for _, lr := range sl.GetLogRecords() {
				if strings.Contains(lr.GetBody().GetStringValue(), "refuse-me") {
					if out.PartialSuccess == nil {
						out.PartialSuccess = &collogpb.ExportLogsPartialSuccess{ErrorMessage: "refused a record"}
					}
					out.PartialSuccess.RejectedLogRecords++
					continue
				}
				r.records = append(r.records, lr)
			}
		}
	}
	r.mu.Unlock()
	b, err := proto.Marshal(&out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// Records returns the records received so far.
func (r *receiver) Records() []*logpb.LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*logpb.LogRecord(nil), r.records...)
}

// attr returns the record's attribute named key.
func attr(lr *logpb.LogRecord, key string) (v interface {
	GetStringValue() string
}, ok bool) {
	for _, kv := range lr.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return nil, false
}
