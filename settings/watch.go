package settings

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// WatchOptions configure [Watch]. The zero value means the defaults.
type WatchOptions struct {
	// Interval is how often the file is read to see whether it changed.
	// Default 1s.
	Interval time.Duration
	// OnError receives each error reading or parsing the file after the
	// first load, once per distinct error; the policy in force stays.
	// Default: logged to slog.Default() at level ERROR.
	OnError func(error)
	// Logger, when set, records each policy applied from the file as an
	// audit event of type log-settings-changed. Default nil: not recorded.
	Logger *audit.Logger
}

func (o WatchOptions) withDefaults() WatchOptions {
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.OnError == nil {
		o.OnError = func(err error) {
			slog.Default().LogAttrs(context.Background(), slog.LevelError, "settings", slog.Any("error", err))
		}
	}
	return o
}

func (o WatchOptions) validate() error {
	if o.Interval < 0 {
		return fmt.Errorf("settings: %w: Interval must be positive, got %s", audit.ErrInvalidOptions, o.Interval)
	}
	return nil
}

// Watcher keeps an [Engine] on the policy in a JSON file; see [Watch].
type Watcher struct {
	e    *Engine
	path string
	opts WatchOptions

	mu      sync.Mutex // serializes reloads
	last    []byte     // the content last read, applied or refused
	lastErr string     // the error last reported

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Watch loads the policy file at path into e, then reads the file every
// Interval and applies it whenever its content changes. A file that cannot
// be read or parsed is reported to OnError and the policy in force stays:
// a broken update never stops logging. Watch fails, starting nothing, when
// the first load fails. Stop watching with [Watcher.Close].
func Watch(e *Engine, path string, opts WatchOptions) (*Watcher, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w := &Watcher{e: e, path: path, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	if err := w.reload(false); err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

func (w *Watcher) run() {
	defer close(w.done)
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			err := w.Reload()
			w.mu.Lock()
			report := err != nil && err.Error() != w.lastErr
			if err == nil {
				w.lastErr = ""
			} else {
				w.lastErr = err.Error()
			}
			w.mu.Unlock()
			if report {
				w.opts.OnError(err)
			}
		}
	}
}

// Reload reads the file now and, when its content changed since it was last
// read, parses it and applies it. On error the policy in force stays.
func (w *Watcher) Reload() error { return w.reload(true) }

// reload is Reload; record says whether to record a change with the Logger
// (not on the first load, which changes nothing the service has seen).
func (w *Watcher) reload(record bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.last = nil
		return fmt.Errorf("settings: %w", err)
	}
	if w.last != nil && bytes.Equal(data, w.last) {
		return nil
	}
	w.last = data
	p, err := Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	if err := w.e.Set(p); err != nil {
		return err
	}
	if record && w.opts.Logger != nil {
		w.opts.Logger.Audit("log settings changed", map[string]any{
			"source": w.path, "version": p.Version, "rules": len(p.Rules),
		}, datagrok.LogSettingsChanged)
	}
	return nil
}

// Close stops watching and waits for the watching goroutine to return, or
// for ctx to end, returning its error. It is idempotent.
func (w *Watcher) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.stop) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
