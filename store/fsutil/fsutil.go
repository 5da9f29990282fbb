// Package fsutil writes small files so that they survive a crash: the
// file's bytes are synced, and so is the folder that names it (without
// the folder's sync, a crash can lose the new name even though the bytes
// reached the disk). The node's marker files, the cluster's certificates
// and keys, and the public self-signed certificate use it; the store syncs
// its folder after renaming a new data file into place.
//
// It is a leaf (standard library only), so that every package that keeps
// a file in the data dir, node/publictls and the store among them, can use
// the same code.
package fsutil

import (
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, readable and writable by the owner
// only (a key or certificate may be among them), and syncs the file and
// its folder before it returns. The bytes go to a temporary file first,
// which is renamed over path: a reader (an admin tool reading the node's
// certificate during a CA rotation or a renewal) or a crash never finds
// the file half written.
func WriteFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir syncs a folder, so that the names created, renamed or removed
// in it are on disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
