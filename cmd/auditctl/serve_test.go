package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit/internal/pgtest"
)

// startServe runs 'auditctl serve' with args until the test ends, and
// returns the address it prints.
func startServe(t *testing.T, db string, args ...string) *url.URL {
	t.Helper()
	return startServeIn(t, db, "", args...)
}

// startServeIn is startServe on a Postgres schema (none: "").
func startServeIn(t *testing.T, db, schema string, args ...string) *url.URL {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }, now: func() time.Time { return now }}
	code := make(chan int, 1)
	go func() {
		code <- c.run(ctx, append([]string{"--db", db, "--schema", schema, "serve"}, args...))
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		cancel()
		t.Fatalf("serve printed no address: %v; exit %d: %s", err, <-code, stderr.String())
	}
	t.Cleanup(func() {
		cancel() // as SIGINT does
		if c := <-code; c != exitOK {
			t.Errorf("serve exited %d after its context ended, want 0: %s", c, stderr.String())
		}
	})
	m := regexp.MustCompile(`at (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("serve printed %q, want an address", line)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fetch gets u without following redirects.
func fetch(t *testing.T, u string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestServeLoopback(t *testing.T) {
	u := startServe(t, sqliteFixture(t), "--addr", "127.0.0.1:0")
	if u.Query().Has("token") {
		t.Errorf("a loopback server printed a token: %s", u)
	}
	for _, p := range []string{"/", "/log?level=error", "/errors"} {
		if resp := fetch(t, "http://"+u.Host+p, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}

func TestServeToken(t *testing.T) {
	db := sqliteFixture(t)
	base := "http://" + startServe(t, db, "--addr", "127.0.0.1:0", "--token", "s3cret").Host
	if resp := fetch(t, base+"/", nil); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("without the token: %d, want 401 with WWW-Authenticate", resp.StatusCode)
	}
	for _, h := range []string{"Bearer nope", "Basic s3cret", "s3cret"} {
		if resp := fetch(t, base+"/", http.Header{"Authorization": {h}}); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", h, resp.StatusCode)
		}
	}
	if resp := fetch(t, base+"/?token=nope", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong ?token: %d, want 401", resp.StatusCode)
	}
	if resp := fetch(t, base+"/log", http.Header{"Authorization": {"Bearer s3cret"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("with the Bearer token: %d, want 200", resp.StatusCode)
	}
	resp := fetch(t, base+"/log?level=error&token=s3cret", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/log?level=error" || len(resp.Cookies()) != 1 {
		t.Fatalf("?token: %d to %q with cookies %v, want 303 to /log?level=error setting a cookie", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	cookie := resp.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %v is not HttpOnly and SameSite=Strict", cookie)
	}
	if resp := fetch(t, base+"/log?level=error", http.Header{"Cookie": {cookie.String()}}); resp.StatusCode != http.StatusOK {
		t.Errorf("with the cookie: %d, want 200", resp.StatusCode)
	}
}

// TestServeOffLoopback checks that a server on every interface requires a
// token, generated and printed when none is given.
func TestServeOffLoopback(t *testing.T) {
	u := startServe(t, sqliteFixture(t), "--addr", ":0")
	token := u.Query().Get("token")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("printed address %s, want a generated token", u)
	}
	_, port, _ := net.SplitHostPort(u.Host)
	base := "http://127.0.0.1:" + port
	if resp := fetch(t, base+"/", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", resp.StatusCode)
	}
	if resp := fetch(t, base+"/", http.Header{"Authorization": {"Bearer " + token}}); resp.StatusCode != http.StatusOK {
		t.Errorf("with the printed token: %d, want 200", resp.StatusCode)
	}
}

func TestServeErrors(t *testing.T) {
	if r := auditctl(t, nil, "--db", sqliteFixture(t), "serve", "--addr", "nonsense"); r.code != exitFailure || !strings.Contains(r.stderr, "--addr") {
		t.Errorf("a bad --addr: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := auditctl(t, nil, "serve"); r.code != exitUsage {
		t.Errorf("serve without --db: exit %d, want %d", r.code, exitUsage)
	}
}

// TestServeSettings serves the settings of a Postgres database: read-only
// with --settings, and with --settings-write a revert made in the view is
// a version by --by; --settings on SQLite is refused.
func TestServeSettings(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	env := map[string]string{envDB: dsn, envSchema: schema, "USER": "tester"}
	auditctl(t, env, "migrate").ok(t)
	for _, p := range []string{`{"rules": [{"scope": "user", "id": "bob", "preset": "verbose"}]}`, `{"rules": []}`} {
		auditctlIn(t, context.Background(), env, p, "settings", "set", "-m", "test").ok(t)
	}
	page := func(base string) string {
		resp, err := http.Get(base + "/settings?user=bob")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /settings: %d\n%s", resp.StatusCode, b)
		}
		return string(b)
	}
	ro := "http://" + startServeIn(t, dsn, schema, "--addr", "127.0.0.1:0", "--settings").Host
	if body := page(ro); !strings.Contains(body, `data-version="2"`) || strings.Contains(body, `name="token"`) {
		t.Errorf("--settings: not version 2 read-only:\n%.2000s", body)
	}
	rw := "http://" + startServeIn(t, dsn, schema, "--addr", "127.0.0.1:0", "--settings-write", "--by", "webadmin").Host
	m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(page(rw))
	if m == nil {
		t.Fatal("--settings-write: no form")
	}
	form := url.Values{"token": {m[1]}, "action": {"revert"}, "version": {"1"}}
	req, _ := http.NewRequest("POST", rw+"/settings?user=bob", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", rw)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revert: %d, want 303", resp.StatusCode)
	}
	contains(t, "history", auditctl(t, env, "settings", "history").ok(t), "webadmin", "revert to version 1")

	if r := auditctl(t, nil, "--db", sqliteFixture(t), "serve", "--settings"); r.code != exitUsage || !strings.Contains(r.stderr, "Postgres") {
		t.Errorf("--settings on SQLite: exit %d, stderr %s", r.code, r.stderr)
	}
}
