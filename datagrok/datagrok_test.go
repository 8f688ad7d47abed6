package datagrok_test

import (
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// TestRecordTypes checks that the catalogue has no duplicate or empty
// entry and that the types the Logger emits by itself have the same values
// in package audit and here.
func TestRecordTypes(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range datagrok.RecordTypes() {
		if rt == "" || seen[rt] {
			t.Errorf("RecordTypes holds %q twice or empty", rt)
		}
		seen[rt] = true
	}
	for _, c := range []struct{ root, dg string }{
		{audit.TypeLog, datagrok.Log}, {audit.TypeError, datagrok.Error}, {audit.TypeUsage, datagrok.Usage},
		{audit.TypeFunctionCall, datagrok.FunctionCall}, {audit.TypeHTTPRequest, datagrok.HTTPRequest},
	} {
		if c.root != c.dg {
			t.Errorf("audit has %q where datagrok has %q", c.root, c.dg)
		}
	}
	if !seen[datagrok.Log] || !seen[datagrok.Error] {
		t.Error("RecordTypes lacks log or error, both in Datagrok's default set")
	}
}
