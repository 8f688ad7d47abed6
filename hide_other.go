//go:build !amd64 && !arm64

package audit

import "unsafe"

// hide returns p. On these architectures the compiler sees p escape, so the
// Params passed to a logging call are allocated on the heap: correct, one
// allocation more per Param.
func hide(p unsafe.Pointer) unsafe.Pointer { return p }
