//go:build !linux

package spool

import "os"

func allocate(*os.File, int64) error { return nil }

// populate is not available: the caller touches each page.
func populate([]byte) bool { return false }
