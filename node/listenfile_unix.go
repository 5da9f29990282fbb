//go:build unix

package node

import (
	"errors"
	"syscall"
)

// processAlive: signal 0 checks that pid exists without touching it; a
// process of another user answers EPERM, which still means it runs.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
