//go:build !unix

package spool

import (
	"errors"
	"os"
)

func mapFile(*os.File, int64) ([]byte, error) {
	return nil, errors.New("memory-mapped files are not supported on this platform")
}

func unmap([]byte) {}

func syncFile(f *os.File) error { return f.Sync() }

func syncRange(f *os.File, _ []byte, _, _ int64) error { return f.Sync() }
