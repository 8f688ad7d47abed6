//go:build !unix

package audittest

import "time"

// ProcessCPU is not measured on this platform: ok is false.
func ProcessCPU() (d time.Duration, ok bool) { return 0, false }
