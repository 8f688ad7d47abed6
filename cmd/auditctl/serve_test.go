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
)

// startServe runs 'auditctl serve' with args until the test ends, and
// returns the address it prints.
func startServe(t *testing.T, db string, args ...string) *url.URL {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }, now: func() time.Time { return now }}
	code := make(chan int, 1)
	go func() {
		code <- c.run(ctx, append([]string{"--db", db, "serve"}, args...))
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
