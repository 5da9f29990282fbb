//go:build !unix

package ops

// DiskFree is not implemented off Unix: the metric reads 0.
func DiskFree(path string) (uint64, bool) { return 0, false }
