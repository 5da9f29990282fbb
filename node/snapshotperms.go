package node

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// Snapshots hold the whole data set, the cluster's CA key and the session
// key, so only the node's own user may read them: folders 0700, files
// 0600. raft.FileSnapshotStore makes them 0755 and 0644 (inside the 0700
// "snapshots" folder, so never readable by others, but a copied folder
// would keep the modes); privateSnapshots tightens each snapshot when it
// is complete, and tightenSnapshots the ones already on disk at start.

type privateSnapshots struct {
	raft.SnapshotStore
	dir string
}

func (p privateSnapshots) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := p.SnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	return privateSink{SnapshotSink: sink, dir: p.dir}, nil
}

type privateSink struct {
	raft.SnapshotSink
	dir string
}

func (s privateSink) Close() error {
	if err := s.SnapshotSink.Close(); err != nil {
		return err
	}
	tightenSnapshots(s.dir)
	return nil
}

// tightenSnapshots sets dir's folders to 0700 and files to 0600. A failure
// is left for the next snapshot: the modes are a second line of defence.
func tightenSnapshots(dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		mode := fs.FileMode(0o600)
		if d.IsDir() {
			mode = 0o700
		}
		_ = os.Chmod(path, mode) // left for the next snapshot, as said above
		return nil
	})
}
