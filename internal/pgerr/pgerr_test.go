package pgerr_test

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/pgerr"
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
		{"refused", syscall.ECONNREFUSED, true, false, false},
		{"eof", io.ErrUnexpectedEOF, true, false, false},
		{"cancelled", context.Canceled, false, false, false},
	} {
		err := pgerr.Translate("pkg", "op", tc.err)
		if errors.Is(err, audit.ErrUnavailable) != tc.unavailable || errors.Is(err, audit.ErrConflict) != tc.conflict ||
			audit.IsPermanent(err) != tc.perm || !errors.Is(err, tc.err) {
			t.Errorf("%s: %v (unavailable %v, conflict %v, permanent %v)", tc.name, err,
				errors.Is(err, audit.ErrUnavailable), errors.Is(err, audit.ErrConflict), audit.IsPermanent(err))
		}
		if err.Error()[:8] != "pkg: op:" {
			t.Errorf("%s: %q lacks its prefix", tc.name, err)
		}
	}
	if pgerr.Translate("pkg", "op", nil) != nil {
		t.Error("nil must stay nil")
	}
}
