package sqlite

import "github.com/auditkit/audit/internal/sqliteerr"

// translate turns an error of the driver into one of this module's; see
// [sqliteerr.Translate].
func translate(op string, err error) error { return sqliteerr.Translate("sqlite", op, err) }
