package sqlstore

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// MigrationFile is one versioned migration of a store, read from a file named
// NNNN_name.sql.
type MigrationFile struct {
	// Version is NNNN, the order of the migration.
	Version int
	// Name is the rest of the file name, without the extension.
	Name string
	// SQL is the file's text.
	SQL string
}

// ReadMigrations returns the migrations in dir of fsys (the stores embed
// theirs), oldest first. A file not named NNNN_name.sql, or two files of one
// version, is an error.
func ReadMigrations(fsys fs.FS, dir string) ([]MigrationFile, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []MigrationFile
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || label == "" {
			return nil, fmt.Errorf("sqlstore: bad migration file name %s", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, MigrationFile{Version: v, Name: label, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b MigrationFile) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("sqlstore: two migrations of version %d", out[i].Version)
		}
	}
	return out, nil
}
