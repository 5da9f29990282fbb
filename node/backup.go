package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/ops/backup"
	"minitwit/store"
	"minitwit/store/fsutil"
)

// Backups and restores of a node's state (the file format is ops/backup's).
// A backup is a snapshot of the data file at one Raft index: online, the
// node first catches up with the leader's commit index, so the backup holds
// every write acknowledged before it began; offline, it is the data file of
// a stopped node as it was left. A restore writes the data file into an
// empty data dir; `serve` on that dir then bootstraps a new cluster with
// that state (the restored file becomes the base of a new Raft log), and
// other nodes join it.

// ErrDataDirInUse means the data dir's node is running: back it up through
// the node instead.
var ErrDataDirInUse = errors.New("the data dir is in use by a running node")

// Backup writes a backup of this node's state to w, never encrypted: the
// callers that send it beyond the cluster encrypt it (the scheduler,
// WriteBackup, `minitwit backup`). Every write acknowledged anywhere in the
// cluster before the call is in it.
func (n *Node) Backup(ctx context.Context, w io.Writer) (backup.Header, error) {
	st, err := n.ReadStore(ctx)
	if err != nil {
		return backup.Header{}, err
	}
	return writeBackup(st, n.nodeID, w)
}

func writeBackup(st *store.Store, nodeID string, w io.Writer) (backup.Header, error) {
	sn, err := st.BeginSnapshot()
	if err != nil {
		return backup.Header{}, err
	}
	defer sn.Release()
	h := backup.Header{Index: sn.AppliedIndex(), Created: time.Now().UTC(), Node: nodeID, Size: sn.Size()}
	return h, backup.Write(w, h, sn)
}

// BackupDataDir writes a backup of a stopped node's data dir to w. It
// fails with ErrDataDirInUse while the node runs, and refuses a data file
// left by an unclean stop in unsynced mode, which only the node can make
// whole again (by starting once).
func BackupDataDir(dir string, w io.Writer) (backup.Header, error) {
	path := filepath.Join(dir, storeFile)
	if _, err := os.Stat(path); err != nil {
		return backup.Header{}, fmt.Errorf("%s holds no MiniTwit data file: %w", dir, err)
	}
	st, err := store.Open(path, store.Options{InitialMmapSize: 1 << 20})
	if errors.Is(err, store.ErrInUse) {
		return backup.Header{}, ErrDataDirInUse
	}
	if err != nil {
		return backup.Header{}, err
	}
	defer st.Close()
	// Checked with the file locked, so the node cannot be starting.
	if _, err := os.Stat(filepath.Join(dir, unsyncedMarker)); err == nil {
		return backup.Header{}, fmt.Errorf("the data file in %s may be incomplete after an unclean stop; start the node once (it rebuilds the file) and back up again", dir)
	}
	id, _ := os.ReadFile(filepath.Join(dir, nodeIDFile))
	return writeBackup(st, strings.TrimSpace(string(id)), w)
}

// RestoreDataDir restores the backup read from r into dir, which must be
// empty or not exist. Nothing is left in dir unless the whole backup
// checked out: its format, its checksum and the data file's schema.
func RestoreDataDir(dir string, r io.Reader) (_ backup.Header, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return backup.Header{}, err
		}
		defer func() {
			if err != nil {
				os.Remove(dir)
			}
		}()
	case err != nil:
		return backup.Header{}, err
	case len(entries) > 0:
		return backup.Header{}, fmt.Errorf("data dir %s is not empty; restore into a new or empty one", dir)
	}
	tmp := filepath.Join(dir, storeFile+".restoring")
	defer os.Remove(tmp) // gone after the rename
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return backup.Header{}, err
	}
	h, err := backup.Read(r, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return h, err
	}
	st, err := store.Open(tmp, store.Options{InitialMmapSize: 1 << 20})
	if err != nil {
		return h, fmt.Errorf("the backup's data file: %w", err)
	}
	if err := st.Close(); err != nil {
		return h, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, storeFile)); err != nil {
		return h, err
	}
	return h, fsutil.SyncDir(dir)
}

// startBackups runs the configured scheduled backups (ops/backup's
// Scheduler): every node runs the schedule, only the leader takes them.
func (n *Node) startBackups(ctx context.Context) error {
	if path := n.cfg.Backup.EncryptionKeyFile; path != "" {
		k, err := backup.LoadKey(path)
		if err != nil {
			return err
		}
		n.backupKey = k
		n.log.Info("backups are encrypted", "key_file", path, "recipient", k.Recipient())
	}
	var targets []backup.Target
	if d := n.cfg.Backup.Dir; d != "" {
		targets = append(targets, backup.Folder{Dir: d})
	}
	if c := n.cfg.Backup.S3; c.Bucket != "" {
		t, err := backup.NewS3(backup.S3Options{Endpoint: c.Endpoint, Bucket: c.Bucket, Prefix: c.Prefix,
			Region: c.Region, AccessKey: c.AccessKey, SecretKey: c.SecretKey, Insecure: c.Insecure})
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil // configWarnings says so, in the log and on the admin page
	}
	n.backups = &backup.Scheduler{
		Interval: time.Duration(n.cfg.Backup.Interval),
		Keep:     time.Duration(n.cfg.Backup.KeepDays) * 24 * time.Hour,
		Targets:  targets,
		Leading:  func() bool { return n.raft.State() == raft.Leader },
		Index:    n.fsm.AppliedIndex,
		Take:     n.Backup,
		Key:      n.backupKey,
		TempDir:  n.cfg.DataDir,
		Log:      n.log.With("component", "backup"),
	}
	n.metrics.Gauge("minitwit_backup_last_success_timestamp_seconds", func() float64 {
		if t := n.backups.Status().LastGood; !t.IsZero() {
			return float64(t.Unix())
		}
		return 0
	})
	n.metrics.Gauge("minitwit_backup_last_ok_timestamp_seconds", func() float64 {
		if t := n.backups.Status().LastOK; !t.IsZero() {
			return float64(t.Unix())
		}
		return 0
	})
	n.metrics.Gauge("minitwit_backup_interval_seconds", func() float64 { return n.backups.Interval.Seconds() })
	n.metrics.Gauge("minitwit_backup_failures_total", func() float64 { return float64(n.backups.Status().Failures) })
	n.bg.Go(func() { n.backups.Run(ctx) })
	return nil
}

// BackupStatus reports the scheduled backups; ok is false when none are
// configured.
func (n *Node) BackupStatus() (st backup.Status, ok bool) {
	if n.backups == nil {
		return backup.Status{}, false
	}
	return n.backups.Status(), true
}

// WriteBackup writes a backup holding every write acknowledged before the
// call: the admin API's download, encrypted when backup.encryption_key_file
// is set (it leaves the cluster).
func (n *Node) WriteBackup(ctx context.Context, w io.Writer) error {
	if n.backupKey == nil {
		_, err := n.Backup(ctx, w)
		return err
	}
	// Caught up first, so that a failure is still one the handler can answer.
	if _, err := n.ReadStore(ctx); err != nil {
		return err
	}
	ew, err := backup.Encrypt(w, n.backupKey)
	if err != nil {
		return err
	}
	if _, err := n.Backup(ctx, ew); err != nil {
		return err
	}
	return ew.Close()
}

// BackupKey is the key backups are encrypted to, nil when they are not.
func (n *Node) BackupKey() *backup.Key { return n.backupKey }
