package driver

import "github.com/auditkit/audit"

// EncodeText splits s into the text stored in a text column and the raw
// bytes stored in its _raw column: raw is nil when s is valid text already
// (the common case), else the original bytes of s.
func EncodeText(s string) (text string, raw []byte) {
	t, changed := audit.Text(s)
	if !changed {
		return s, nil
	}
	return t, []byte(s)
}

// DecodeText is the inverse of [EncodeText]: the original bytes when raw is
// not NULL, the text otherwise.
func DecodeText(text string, raw []byte) string {
	if raw != nil {
		return string(raw)
	}
	return text
}

// RawArg returns raw as a query argument: nil (SQL NULL) for a nil slice, so
// drivers that would write an empty bytea for a nil []byte write NULL.
func RawArg(raw []byte) any {
	if raw == nil {
		return nil
	}
	return raw
}
