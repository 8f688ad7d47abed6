//go:build unix

package spool

import (
	"os"
	"syscall"
	"unsafe"
)

// mapFile maps size bytes of f, shared: what is written to the mapping is
// in the OS page cache at once, so it survives a crash of the process.
func mapFile(f *os.File, size int64) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

func unmap(b []byte) { _ = syscall.Munmap(b) }

// syncFile flushes f's data, including pages written through a mapping.
func syncFile(f *os.File) error { return f.Sync() }

// syncRange flushes the bytes [from, to) written through the mapping data
// of f to stable storage (msync MS_SYNC, which on Linux also writes the
// metadata needed to read them back).
func syncRange(f *os.File, data []byte, from, to int64) error {
	if to <= from {
		return nil
	}
	start := from &^ 4095
	_, _, errno := syscall.Syscall(syscall.SYS_MSYNC, uintptr(unsafe.Pointer(&data[start])), uintptr(to-start), syscall.MS_SYNC)
	if errno != 0 {
		return errno
	}
	return nil
}
