package pg_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		err                         error
		unavailable, conflict, perm bool
	}{
		{"unique violation", &pq.Error{Code: "23505"}, false, true, true},
		{"connection failure", &pq.Error{Code: "08006"}, true, false, false},
		{"admin shutdown", &pq.Error{Code: "57P01"}, true, false, false},
		{"invalid text", &pq.Error{Code: "22021"}, false, false, true},
		{"syntax error", &pq.Error{Code: "42601"}, false, false, false},
		{"pgx unique violation", &pgconn.PgError{Code: "23505"}, false, true, true},
		{"pgx admin shutdown", &pgconn.PgError{Code: "57P01"}, true, false, false},
		{"pgx invalid text", &pgconn.PgError{Code: "22021"}, false, false, true},
		{"pgx conn closed", fmt.Errorf("commit: %w", pgconn.ErrConnClosed), true, false, false},
		{"pgx syntax error", &pgconn.PgError{Code: "42601"}, false, false, false},
		{"refused", syscall.ECONNREFUSED, true, false, false},
		{"eof", io.ErrUnexpectedEOF, true, false, false},
		{"cancelled", context.Canceled, false, false, false},
	} {
		err := pg.Translate("pkg", "op", tc.err)
		if errors.Is(err, audit.ErrUnavailable) != tc.unavailable || errors.Is(err, audit.ErrConflict) != tc.conflict ||
			audit.IsPermanent(err) != tc.perm || !errors.Is(err, tc.err) {
			t.Errorf("%s: %v (unavailable %v, conflict %v, permanent %v)", tc.name, err,
				errors.Is(err, audit.ErrUnavailable), errors.Is(err, audit.ErrConflict), audit.IsPermanent(err))
		}
		if err.Error()[:8] != "pkg: op:" {
			t.Errorf("%s: %q lacks its prefix", tc.name, err)
		}
	}
	if pg.Translate("pkg", "op", nil) != nil {
		t.Error("nil must stay nil")
	}
}

func TestIsDuplicateEvent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pq.Error{Code: "23505", Constraint: "events_pkey"}, true},
		{&pgconn.PgError{Code: "23505", ConstraintName: "events_pkey"}, true},
		{&pq.Error{Code: "23505", Constraint: "users_pkey"}, false},
		{&pgconn.PgError{Code: "23503", ConstraintName: "events_pkey"}, false},
		{io.EOF, false},
	} {
		if got := pg.IsDuplicateEvent(tc.err); got != tc.want {
			t.Errorf("IsDuplicateEvent(%#v) = %v", tc.err, got)
		}
	}
}
