package dashboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/settings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Settings is what the Settings view shows: the policy in effect.
// *settings.Engine implements it.
type Settings interface {
	Policy() settings.Config
}

// Options configure a [Handler]. The zero value means the defaults.
type Options struct {
	// Now returns the current time: time ranges end at it. Default
	// [time.Now].
	Now func() time.Time

	// Groups returns the groups of a user, for the group filter and the
	// group split of usage patterns (see [analysis.Options.Groups]).
	// Default nil: no user is in any group.
	Groups func(userID string) []string

	// Settings, when set, is shown read-only by the Settings view: the
	// policy, its rules, and (when it has an Explain method, as
	// *settings.Engine does) the effective settings of the user and group
	// of the filters. Default nil: the view says that no settings are
	// configured. Set Settings or SettingsStore, not both.
	Settings Settings

	// SettingsStore, when set, is the versioned settings store the
	// Settings view shows: the policy in force, its rules (the presets per
	// user and group), the effective settings of the user and group of the
	// filters, and the version history. Default nil.
	SettingsStore SettingsStore

	// SettingsWrite lets the Settings view change the settings of
	// SettingsStore: edit the policy (as JSON, validated, with a comment)
	// and revert to an earlier version, through POST forms that must come
	// from the dashboard's own pages (a same-origin check and a form token
	// bound to the user). Each change is attributed to User. Default
	// false: the dashboard accepts no POST at all.
	SettingsWrite bool

	// User returns the user the host has authenticated for a request:
	// settings changes are made in their name, and refused when it returns
	// "". Required with SettingsWrite.
	User func(*http.Request) string

	// TailInterval is how often a live tail polls the store for new
	// events. Default 300 ms.
	TailInterval time.Duration

	// MaxTails caps the live tails open at once; one more is refused with
	// 503 Service Unavailable. Default 16.
	MaxTails int

	// TailTimeout ends a live tail after this long (the browser then
	// reconnects where it stopped). Default 30 minutes.
	TailTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TailInterval == 0 {
		o.TailInterval = 300 * time.Millisecond
	}
	if o.MaxTails == 0 {
		o.MaxTails = 16
	}
	if o.TailTimeout == 0 {
		o.TailTimeout = 30 * time.Minute
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.TailInterval < 0:
		return fmt.Errorf("dashboard: %w: TailInterval %s is negative", audit.ErrInvalidOptions, o.TailInterval)
	case o.MaxTails < 0:
		return fmt.Errorf("dashboard: %w: MaxTails %d is negative", audit.ErrInvalidOptions, o.MaxTails)
	case o.TailTimeout < 0:
		return fmt.Errorf("dashboard: %w: TailTimeout %s is negative", audit.ErrInvalidOptions, o.TailTimeout)
	case o.Settings != nil && o.SettingsStore != nil:
		return fmt.Errorf("dashboard: %w: Settings and SettingsStore are both set", audit.ErrInvalidOptions)
	case o.SettingsWrite && o.SettingsStore == nil:
		return fmt.Errorf("dashboard: %w: SettingsWrite without a SettingsStore", audit.ErrInvalidOptions)
	case o.SettingsWrite && o.User == nil:
		return fmt.Errorf("dashboard: %w: SettingsWrite without User: changes must be attributed to the logged-in user", audit.ErrInvalidOptions)
	}
	return nil
}

// Handler serves the dashboard. It only reads the store (and changes the
// settings with Options.SettingsWrite). It is safe for concurrent use;
// [Handler.Close] ends its live tails.
type Handler struct {
	a     *analysis.Analyzer
	opts  Options
	pages map[string]*template.Template
	files map[string]asset
	mux   *http.ServeMux

	formKey []byte                      // the key of the settings forms' tokens
	origins *http.CrossOriginProtection // refuses cross-origin settings changes

	ctx    context.Context // canceled by Close: ends the live tails
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	tails  sync.WaitGroup
	slots  chan struct{}
}

// asset is an embedded static file, with its gzip form.
type asset struct {
	data, gz []byte
	typ      string
}

// New returns the dashboard of a SQL store (a *postgres.Store or a
// *sqlite.Store, as [analysis.New] takes). It reads through the store's
// connection pool and never writes to it. Close it to end its live tails.
func New(store audit.Reader, opts Options) (*Handler, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	a, err := analysis.New(store, analysis.Options{Now: opts.Now, Groups: opts.Groups, PollInterval: opts.TailInterval})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	h := &Handler{a: a, opts: opts, slots: make(chan struct{}, opts.MaxTails)}
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if h.files, err = loadAssets(); err != nil {
		return nil, err
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.formKey = make([]byte, 32)
	rand.Read(h.formKey)
	h.origins = http.NewCrossOriginProtection()
	h.mux = http.NewServeMux()
	for name, v := range views {
		fn := v.load
		if fn == nil {
			continue // below
		}
		h.mux.HandleFunc("GET /"+name, func(w http.ResponseWriter, r *http.Request) { h.page(w, r, name, fn) })
	}
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { h.page(w, r, "overview", views["overview"].load) })
	h.mux.HandleFunc("GET /settings", h.settingsPage)
	if opts.SettingsWrite {
		h.mux.HandleFunc("POST /settings", h.settingsPage)
	}
	h.mux.HandleFunc("GET /tail", h.tail)
	h.mux.HandleFunc("GET /static/", h.static)
	return h, nil
}

// ServeHTTP serves the dashboard's pages, its live tail and its static
// files. Paths are relative to where it is mounted: it works under
// [http.StripPrefix], and its links are relative.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && (r.Method != http.MethodPost || !h.opts.SettingsWrite) {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/") { // mounted with StripPrefix("/x/")
		r2 := *r
		u := *r.URL
		u.Path = "/" + u.Path
		r2.URL = &u
		r = &r2
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// Close ends the live tails and waits for them to return, or for ctx to
// end (it then returns ctx's error). Pages are still served after Close;
// new live tails are refused. Close is idempotent.
func (h *Handler) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.tails.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	a, ok := h.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.typ)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Vary", "Accept-Encoding")
	body := a.data
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// loadAssets reads the embedded static files and compresses them once.
func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		typ := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.Ext(p)]
		if typ == "" {
			return nil // refresh.sh
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		out[p] = asset{data: data, gz: buf.Bytes(), typ: typ}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: static files: %w", err)
	}
	return out, nil
}

// errStatus maps an error of a view to an HTTP status.
func errStatus(err error) int {
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, analysis.ErrInvalidRequest), errors.Is(err, audit.ErrInvalidCursor):
		return http.StatusBadRequest
	case errors.Is(err, analysis.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
