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

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14).
const madvPopulateWrite = 23

// populate maps data's pages writable in one call, and reports false when
// the kernel cannot (older than 5.14): then the caller touches each page.
func populate(data []byte) bool {
	return syscall.Madvise(data, madvPopulateWrite) == nil
}
