//go:build unix

package spool

import (
	"os"
	"syscall"
)

// mapFile maps size bytes of f, shared: what is written to the mapping is
// in the OS page cache at once, so it survives a crash of the process.
func mapFile(f *os.File, size int64) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

func unmap(b []byte) { _ = syscall.Munmap(b) }

// syncFile flushes f's data, including pages written through a mapping.
func syncFile(f *os.File) error { return f.Sync() }
