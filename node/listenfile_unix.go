//go:build unix

package node

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// processAlive: signal 0 checks that pid exists without touching it; a
// process of another user answers EPERM, which still means it runs. A
// zombie (killed, not yet reaped by a parent that does not wait, as in a
// container without an init) exists too, but runs no more: Linux shows it
// in /proc as state Z.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc (not Linux): signal 0 is all there is
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
