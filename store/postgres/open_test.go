package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/postgres"
)

// TestOpenMalformedDSN checks that a malformed DSN is invalid options, not
// an unavailable server, and that the error does not quote the password.
func TestOpenMalformedDSN(t *testing.T) {
	for _, dsn := range []string{
		"postgres://bob:s3cret@localhost:bad/db",
		"postgres://bob:s3cret%zz@localhost/db",
		"host=localhost password=s3cret dbname=db sslmode=bogus",
		"host=localhost password='s3cret dbname=db",
	} {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err == nil {
			s.Close(context.Background())
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if !errors.Is(err, audit.ErrInvalidOptions) || errors.Is(err, audit.ErrUnavailable) {
			t.Errorf("Open(%q) = %v, want ErrInvalidOptions", dsn, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error shows the password: %v", dsn, err)
		}
	}
}
