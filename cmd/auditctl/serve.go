package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/settings/pgsettings"
)

// tokenCookie keeps the token a browser was given in ?token=.
const tokenCookie = "auditctl_token"

func runServe(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", "Serve the dashboard (overview, log with live tail, usage, functions, errors, performance,\n"+
		"patterns, objects) in the browser, reading the database read-only. It binds to loopback by\n"+
		"default; on any other address it requires a token (generated and printed when not given),\n"+
		"sent as 'Authorization: Bearer TOKEN' or once as ?token=TOKEN, which sets a cookie.\n"+
		"With --settings (Postgres only), its Settings view shows the settings kept in the database\n"+
		"(settings/pgsettings): effective settings per user and group, rules, history; with\n"+
		"--settings-write it also edits and reverts them, each change attributed to --by (default $USER)\n"+
		"and recorded in the audit log. Without them it shows none. SIGINT or SIGTERM stops it.")
	addr := fs.String("addr", "127.0.0.1:8080", "the `address` to listen on")
	token := fs.String("token", "", "the token every request must carry (default: none on loopback, generated otherwise)")
	withSettings := fs.Bool("settings", false, "show the settings kept in the Postgres database")
	write := fs.Bool("settings-write", false, "let the Settings view change the settings (implies --settings)")
	by := fs.String("by", "", "who settings changes are attributed to (default $USER)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	who := ""
	if *write {
		*withSettings = true
		if who, err = c.by(*by); err != nil {
			return err
		}
	}
	store, groups, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close(context.Background())
	var src *pgsettings.Source
	if *withSettings {
		var closeSettings func() error
		if src, closeSettings, err = c.openSettings(ctx, *write); err != nil {
			return err
		}
		defer func() {
			if cerr := closeSettings(); cerr != nil {
				fmt.Fprintf(c.stderr, "auditctl: %s: %v\n", c.cmd, cerr)
			}
		}()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	defer ln.Close()
	if *token == "" && !loopback(ln.Addr()) {
		if *token, err = newToken(); err != nil {
			return err
		}
	}
	opts := dashboard.Options{Now: c.now}
	if groups != nil {
		opts.Groups = analysis.GroupMap(groups)
	}
	if src != nil {
		opts.SettingsStore = src
		if *write {
			opts.SettingsWrite = true
			opts.User = func(*http.Request) string { return who }
		}
	}
	h, err := dashboard.New(store, opts)
	if err != nil {
		return err
	}
	var handler http.Handler = h
	if *token != "" {
		handler = requireToken(h, *token)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	u := "http://" + ln.Addr().String() + "/"
	if *token != "" {
		u += "?token=" + url.QueryEscape(*token)
	}
	fmt.Fprintf(c.stdout, "serving the audit dashboard of %s at %s\n", dbName(c.db), u)
	if err := flush(c.stdout); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		h.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.Close(shutdown) // ends the live tails, whose requests Shutdown waits for
	err = srv.Shutdown(shutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// dbName is the database as printed: a file path, or a masked DSN.
func dbName(db string) string {
	if isPostgres(db) {
		return "the Postgres database"
	}
	return db
}

// loopback reports whether addr is a loopback address.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// newToken returns 32 random hex digits.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// requireToken lets through the requests that carry token: as a Bearer
// Authorization, in the cookie, or as ?token=, which sets the cookie and
// redirects to the same address without it. Others get 401.
func requireToken(next http.Handler, token string) http.Handler {
	ok := func(s string) bool { return subtle.ConstantTimeCompare([]byte(s), []byte(token)) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Has("token") {
			if !ok(q.Get("token")) {
				unauthorized(w)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && ok(bearer) {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(tokenCookie); err == nil && ok(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		unauthorized(w)
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="auditctl"`)
	http.Error(w, "auditctl serve: a token is required: open the address printed at start (with ?token=), or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
}
