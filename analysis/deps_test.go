package analysis_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksOnlyItsStoresDriver checks that the analysis package imports no
// store: a program of analysis and one store links that store's database
// driver only.
func TestLinksOnlyItsStoresDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	const mod = "github.com/auditkit/audit/"
	for _, tc := range []struct {
		pkgs   []string
		absent []string
	}{
		{[]string{mod + "analysis"}, []string{"github.com/lib/pq", "github.com/jackc/pgx", "modernc.org/sqlite", mod + "store/"}},
		{[]string{mod + "analysis", mod + "store/sqlite"}, []string{"github.com/lib/pq", "github.com/jackc/pgx"}},
		{[]string{mod + "analysis", mod + "store/postgres"}, []string{"modernc.org/sqlite"}},
	} {
		out, err := exec.Command(goBin, append([]string{"list", "-deps"}, tc.pkgs...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", tc.pkgs, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, a := range tc.absent {
				if strings.HasPrefix(dep, a) {
					t.Errorf("%v links %s", tc.pkgs, dep)
				}
			}
		}
	}
}
