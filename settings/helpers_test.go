package settings_test

import (
	"context"
	"sync"

	"github.com/auditkit/audit"
)

// recorder is a Store that keeps the events written to it.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Write(_ context.Context, evs []audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
	return nil
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Message)
	}
	return out
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}
