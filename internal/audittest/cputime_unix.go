//go:build unix

package audittest

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time the process has used, in all its
// threads; ok is false where it is not measured.
func ProcessCPU() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
