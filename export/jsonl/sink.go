package jsonl

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/auditkit/audit"
)

// Options configure a [Sink]. The zero value gives the defaults.
type Options struct {
	// Name is what [Sink.Name] returns, naming the sink in the Logger's
	// stats. Default "jsonl".
	Name string
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "jsonl"
	}
	return o
}

// Sink writes each event as one JSON line to an [io.Writer]. Each batch is
// written with one Write call, so the lines of concurrent Sends never
// interleave. A Sink does not buffer; give it a [bufio.Writer] for that, and
// [Sink.Flush] flushes it.
type Sink struct {
	opts   Options
	mu     sync.Mutex // guards w and closed, and orders the writes
	w      io.Writer
	closed bool
}

var (
	_ audit.Sink    = (*Sink)(nil)
	_ audit.Flusher = (*Sink)(nil)
	_ audit.Closer  = (*Sink)(nil)
	_ audit.Namer   = (*Sink)(nil)
)

// New returns a Sink that writes to w. The caller keeps ownership of w:
// closing the Sink does not close w.
func New(w io.Writer, opts Options) *Sink {
	return &Sink{opts: opts.withDefaults(), w: w}
}

// Name returns Options.Name.
func (s *Sink) Name() string { return s.opts.Name }

// Send writes the events, one line each. An event with an invalid level is
// refused with an error wrapping [audit.ErrInvalidEvent], and then nothing of
// the batch is written. A write error is returned wrapped; part of the batch
// may have been written, so a retry may repeat lines (readers can deduplicate
// on id).
func (s *Sink) Send(ctx context.Context, events []audit.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var buf []byte
	for i := range events {
		line, err := events[i].MarshalJSON()
		if err != nil {
			return fmt.Errorf("jsonl: event %d (%s): %w", i, events[i].ID, err)
		}
		buf = append(append(buf, line...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("jsonl: send: %w", audit.ErrClosed)
	}
	if len(buf) == 0 {
		return nil
	}
	n, err := s.w.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("jsonl: write: %w", err)
	}
	return nil
}

// Flush flushes the writer if it has a Flush() error method, as
// [bufio.Writer] does; otherwise it does nothing.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("jsonl: flush: %w", audit.ErrClosed)
	}
	return s.flush()
}

func (s *Sink) flush() error {
	if f, ok := s.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("jsonl: flush: %w", err)
		}
	}
	return nil
}

// Close flushes the writer (see [Sink.Flush]) and makes later Sends and
// Flushes fail with [audit.ErrClosed]. It does not close the writer. Close is
// idempotent.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.flush()
}
