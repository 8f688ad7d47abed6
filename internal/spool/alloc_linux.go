package spool

import (
	"os"
	"syscall"
)

// allocate reserves the file's blocks on disk, so writes through the
// mapping do not allocate them one page at a time.
func allocate(f *os.File, size int64) error {
	return syscall.Fallocate(int(f.Fd()), 0, 0, size)
}
