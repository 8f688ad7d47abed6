package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/auditkit/audit"
)

// tail streams the new events that match the log's filters as server-sent
// events, each the HTML of its table row, with its position as the event
// id so that a reconnecting browser resumes where it stopped
// (Last-Event-ID). It polls the store every Options.TailInterval and ends
// when the client leaves, after Options.TailTimeout, or at Close.
func (h *Handler) tail(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "dashboard: live tail: the server cannot stream", http.StatusInternalServerError)
		return
	}
	f, err := parseFilter(r.URL.Query(), h.opts.Now())
	if err != nil {
		http.Error(w, "dashboard: live tail: "+err.Error(), http.StatusBadRequest)
		return
	}
	req := f.feedRequest()
	req.From = f.Get("from")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		req.From = id
	}
	if req.From != "" {
		if _, _, err := audit.DecodeCursor(req.From); err != nil {
			http.Error(w, "dashboard: live tail: from: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	release, ok := h.acquireTail()
	if !ok {
		http.Error(w, "dashboard: too many live tails open, or the dashboard is closed", http.StatusServiceUnavailable)
		return
	}
	defer release()

	ctx, cancel := context.WithTimeout(r.Context(), h.opts.TailTimeout)
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()

	if req.From == "" {
		// Fix where the tail starts before the response begins: an event
		// stored once the client has the response is delivered, even when
		// it is stored before Follow's first query.
		head := req
		head.Limit = 1
		page, err := h.a.Feed(ctx, head)
		if err != nil {
			http.Error(w, "dashboard: live tail: "+err.Error(), http.StatusInternalServerError)
			return
		}
		req.From = page.Head
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n: live tail\n\n")
	flusher.Flush()
	row := h.pages["log"].Lookup("row")
	err = h.a.Follow(ctx, req, func(e audit.Event) error {
		var buf bytes.Buffer
		if err := row.Execute(&buf, rowData{e, f}); err != nil {
			return err
		}
		data, err := json.Marshal(buf.String())
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %s\ndata: %s\n\n", audit.EncodeCursor(e.Time, e.ID), data); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(w, "event: failure\ndata: %q\n\n", err.Error())
		flusher.Flush()
	}
}

// acquireTail takes a live tail's slot; ok is false when all are taken or
// the dashboard is closed.
func (h *Handler) acquireTail() (release func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	select {
	case h.slots <- struct{}{}:
	default:
		return nil, false
	}
	h.tails.Add(1)
	return func() {
		<-h.slots
		h.tails.Done()
	}, true
}

// rowData is a row of the log's table: an event and the filters its links
// keep.
type rowData struct {
	E audit.Event
	F *filter
}
