package pgsettings_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

// TestOpenMalformedDSN checks that a malformed DSN is invalid options and
// that the error does not quote the password.
func TestOpenMalformedDSN(t *testing.T) {
	e, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	for _, dsn := range []string{
		"postgres://bob:s3cret@localhost:bad/db",
		"host=localhost password=s3cret dbname=db sslmode=bogus",
	} {
		src, err := pgsettings.Open(context.Background(), dsn, e, pgsettings.Options{})
		if err == nil {
			src.Close(context.Background())
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if !errors.Is(err, audit.ErrInvalidOptions) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v, want ErrInvalidOptions without the password", dsn, err)
		}
	}
}
