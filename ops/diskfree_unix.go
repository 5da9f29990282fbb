//go:build unix

package ops

import "golang.org/x/sys/unix"

// DiskFree returns the bytes available to this process on the file system
// holding path (statfs's available blocks, not the root-reserved ones).
func DiskFree(path string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
