package pgtest

import (
	"os"
	"testing"

	"github.com/jmoiron/sqlx"
)

func TestMain(m *testing.M) { Main(m) }

// TestThrowawayCluster checks the last resort: a cluster of its own.
func TestThrowawayCluster(t *testing.T) {
	t.Parallel()
	c, err := StartCluster()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
			t.Errorf("cluster directory %s left behind", c.dir)
		}
	}()
	db, err := sqlx.Open("postgres", c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	if err := db.Get(&one, "SELECT 1"); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestSchema(t *testing.T) {
	t.Parallel()
	name := Schema(t)
	db := Admin(t)
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", name); err != nil || n != 1 {
		t.Fatalf("schema %s: count %d, %v", name, n, err)
	}
	t.Run("dropped", func(t *testing.T) {
		// The parent's cleanup runs after this; nothing to check here but
		// that a second schema is distinct.
		if other := Schema(t); other == name {
			t.Fatalf("two tests got schema %s", name)
		}
	})
}
