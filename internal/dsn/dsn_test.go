package dsn

import (
	"net/url"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://bob:s3cret@localhost:5432/db", "postgres://bob:xxxxx@localhost:5432/db"},
		{"postgresql://bob:s3cret@localhost:bad/db", "postgresql://bob:xxxxx@localhost:bad/db"},
		{"postgres://bob:s3%zzcret@h/db", "postgres://bob:xxxxx@h/db"},
		{"postgres://bob:pa/ss@h/db", "postgres://bob:xxxxx@h/db"},
		{"postgres://bob:p@ss@h/db", "postgres://bob:xxxxx@h/db"},
		{"postgres://bob@h/db?sslmode=disable&password=s3cret&x=1", "postgres://bob@h/db?sslmode=disable&password=xxxxx&x=1"},
		{"postgres://bob:a@h/db?password=b", "postgres://bob:xxxxx@h/db?password=xxxxx"},
		{"postgres://h/db", "postgres://h/db"},
		{"host=h password=s3cret dbname=db", "host=h password=xxxxx dbname=db"},
		{"host=h PASSWORD = s3cret dbname=db", "host=h PASSWORD = xxxxx dbname=db"},
		{"host=h password='s3 \\' cret' dbname=db", "host=h password=xxxxx dbname=db"},
		{"host=h password='unterminated", "host=h password=xxxxx"},
		{"password=s3cret", "password=xxxxx"},
		{"host=h mypassword=visible", "host=h mypassword=visible"},
		{"/var/lib/audit.db", "/var/lib/audit.db"},
		{"", ""},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedact(t *testing.T) {
	d := "postgres://bob:s3%21cret@localhost:bad/db"
	msg := `parse "postgres://bob:s3%21cret@localhost:bad/db": invalid port; password s3!cret`
	got := Redact(msg, d)
	if strings.Contains(got, "s3") {
		t.Errorf("Redact left the password in %q", got)
	}
	if !strings.Contains(got, "postgres://bob:xxxxx@localhost:bad/db") {
		t.Errorf("Redact = %q, want the masked URL in it", got)
	}
	if got := Redact("no secret here", ""); got != "no secret here" {
		t.Errorf("Redact with no DSN = %q", got)
	}
}

// FuzzMask builds DSNs around any password and checks that exactly the
// password is masked.
func FuzzMask(f *testing.F) {
	f.Add("s3cret")
	f.Add("a'b\\c d@e/f?g&h=i")
	f.Fuzz(func(t *testing.T, pw string) {
		if pw == "" {
			return
		}
		u := url.URL{Scheme: "postgres", User: url.UserPassword("bob", pw), Host: "h", Path: "/d"}
		want := url.URL{Scheme: "postgres", User: url.UserPassword("bob", Masked), Host: "h", Path: "/d"}
		if got := Mask(u.String()); got != want.String() {
			t.Errorf("Mask(%q) = %q, want %q", u.String(), got, want.String())
		}
		q := url.URL{Scheme: "postgres", Host: "h", Path: "/d", RawQuery: url.Values{"password": {pw}, "sslmode": {"disable"}}.Encode()}
		if got := Mask(q.String()); got != "postgres://h/d?password="+Masked+"&sslmode=disable" {
			t.Errorf("Mask(%q) = %q", q.String(), got)
		}
		kv := "host=h password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=d"
		if got := Mask(kv); got != "host=h password="+Masked+" dbname=d" {
			t.Errorf("Mask(%q) = %q", kv, got)
		}
	})
}
