package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"minitwit/node"
	"minitwit/ops/backup"
	"minitwit/ops/simulate"
)

const backupUsage = `Usage: minitwit backup --out FILE [--data-dir DIR | --url URL --token T] [flags]
       minitwit backup keygen FILE

Writes a consistent backup of a node's state to FILE (compressed, with a
header and a checksum; see ops/backup). It reads the same configuration as
serve (--config, MINITWIT_* env) to find the node's data dir. When that
node is running, the backup is taken by the node, over the internode port
with its certificate, and holds every write acknowledged before it began;
when it is stopped, the data dir is read directly. With --url, a node
anywhere is asked over HTTP(S) with its admin token (admin.token). The file
is written beside FILE, checked, and only then renamed to FILE.

With backup.encryption_key_file in the configuration (or --key-file), the
file is encrypted and authenticated with that age key (filippo.io/age);
restore then needs the same key. 'minitwit backup keygen FILE' writes a new
key (an age X25519 identity, mode 0600; age-keygen's output works too) and
prints its public half. Keep the key outside the data dir and a copy away
from the node: without it no encrypted backup can be restored.

Flags:
`

func runBackup(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "keygen" {
		return runBackupKeygen(args[1:], stdout, stderr)
	}
	fs := newFlagSet("backup", backupUsage)
	out := fs.String("out", "", "write the backup to `FILE` (required)")
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG)")
	dataDir := fs.String("data-dir", "", "the node's data `dir`")
	addr := fs.String("addr", "", "`host:port` of the member to ask when the node runs (default: its internode address, from its data dir)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	remote := fs.String("url", "", "the node's public base `URL` (e.g. https://minitwit.example.org) to ask over HTTP")
	token := fs.String("token", "", "with --url: the node's admin `token` (default $MINITWIT_ADMIN_TOKEN)")
	ca := fs.String("ca", "", "with --url: a PEM `file` to trust besides the system's roots (a self-signed node)")
	keyFile := fs.String("key-file", "", "encrypt the backup to this age identity `file` (default: backup.encryption_key_file)")
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(args) != 0:
		return usageError(stderr, "backup", "unexpected argument %q (the file goes after --out)", args[0])
	case *out == "":
		return usageError(stderr, "backup", "--out FILE is required")
	}
	var key *backup.Key
	if *keyFile != "" {
		k, err := backup.LoadKey(*keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "minitwit backup:", err)
			return 2
		}
		key = k
	}
	if *remote != "" {
		client, err := newAdminClient(*remote, *token, *ca)
		if err != nil {
			fmt.Fprintln(stderr, "minitwit backup:", err)
			return 2
		}
		res, err := writeChecked(*out, key, func(w io.Writer) error {
			body, err := client.do(http.MethodGet, "/admin/api/backup", nil)
			if err != nil {
				return err
			}
			defer body.Close()
			_, err = io.Copy(w, body)
			return err
		})
		if err != nil {
			fmt.Fprintln(stderr, "minitwit backup:", err)
			return 1
		}
		if !res.checked {
			fmt.Fprintf(stdout, "encrypted backup taken by %s: %s, %d bytes (not checked here: give --key-file to check it)\n",
				*remote, filepath.Clean(*out), res.size)
			return 0
		}
		fmt.Fprintf(stdout, "%sbackup of node %s at index %d (%d bytes of data) taken by %s: %s, %d bytes\n",
			res.kind(), res.h.Node, res.h.Index, res.h.Size, *remote, filepath.Clean(*out), res.size)
		return 0
	}
	cfg, err := loadNodeConfig(*cfgFile, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit backup:", err)
		return 2
	}
	if key == nil && cfg.Backup.EncryptionKeyFile != "" {
		if key, err = backup.LoadKey(cfg.Backup.EncryptionKeyFile); err != nil {
			fmt.Fprintln(stderr, "minitwit backup:", err)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	how := "from the stopped node's data dir"
	res, err := writeChecked(*out, key, func(w io.Writer) error {
		_, err := node.BackupDataDir(cfg.DataDir, w)
		if !errors.Is(err, node.ErrDataDirInUse) {
			return err
		}
		client, err := node.NewClusterClient(cfg.DataDir)
		if err != nil {
			return err
		}
		if *addr, err = localMember(cfg, *addr); err != nil {
			return err
		}
		how = "by the running node at " + *addr
		return client.Backup(ctx, *addr, w)
	})
	if err != nil {
		fmt.Fprintln(stderr, "minitwit backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%sbackup of node %s at index %d (%d bytes of data) taken %s: %s, %d bytes\n",
		res.kind(), res.h.Node, res.h.Index, res.h.Size, how, filepath.Clean(*out), res.size)
	return 0
}

const keygenUsage = `Usage: minitwit backup keygen FILE

Writes a new backup encryption key to FILE (which must not exist), readable
by its owner only: an age X25519 identity, the format age-keygen writes.
Prints the key's public half. Name the file in backup.encryption_key_file
(MINITWIT_BACKUP_ENCRYPTION_KEY_FILE) on every node, keep it outside the
data dir, and keep a copy somewhere safe away from the nodes: a lost key
makes every backup encrypted with it unreadable.
`

func runBackupKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup keygen", keygenUsage)
	args, code, done := parseFlags(fs, args, stdout, stderr)
	switch {
	case done:
		return code
	case len(args) != 1:
		return usageError(stderr, "backup keygen", "give the key FILE to write: 'minitwit backup keygen FILE'")
	}
	k, err := backup.GenerateKeyFile(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "minitwit backup keygen:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote a new backup key to %s (mode 0600); public key: %s\n", filepath.Clean(k.Path), k.Recipient())
	return 0
}

// checkedBackup is what writeChecked wrote.
type checkedBackup struct {
	h         backup.Header
	size      int64 // of the file
	encrypted bool
	checked   bool // false only for an encrypted file and no key here
}

func (c checkedBackup) kind() string {
	if c.encrypted {
		return "encrypted "
	}
	return ""
}

// writeChecked writes a backup to path.tmp with write, encrypting it to
// key unless it arrives encrypted already (a node with its own key), reads
// it back with backup.Open and backup.Read (format and checksum, through
// the decryption), and renames it to path. An encrypted backup and no key
// to open it with is kept unchecked (checked is false).
func writeChecked(path string, key *backup.Key, write func(io.Writer) error) (checkedBackup, error) {
	var res checkedBackup
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return res, err
	}
	defer os.Remove(tmp)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	in := bufio.NewReaderSize(pr, 1<<16)
	res.encrypted = backup.IsEncrypted(in)
	if !res.encrypted && key != nil {
		res.encrypted = true
		var ew io.WriteCloser
		if ew, err = backup.Encrypt(f, key); err == nil {
			if _, err = io.Copy(ew, in); err == nil {
				err = ew.Close()
			}
		}
	} else {
		_, err = io.Copy(f, in)
	}
	pr.CloseWithError(err) // a failed copy stops write too
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	f, err = os.Open(tmp)
	if err != nil {
		return res, err
	}
	defer f.Close()
	r, err := backup.Open(f, key)
	switch {
	case errors.Is(err, backup.ErrEncrypted):
		// Encrypted by the node; only a key could tell more.
	case err == nil:
		res.h, err = backup.Read(r, io.Discard)
		res.checked = err == nil
	}
	if err != nil {
		return res, fmt.Errorf("the backup written to %s does not check out: %w", tmp, err)
	}
	info, err := f.Stat()
	if err != nil {
		return res, err
	}
	res.size = info.Size()
	return res, os.Rename(tmp, path)
}

const restoreUsage = `Usage: minitwit restore --data-dir DIR FILE|s3://BUCKET/KEY
       minitwit restore --cluster [--yes] [flags] FILE|s3://BUCKET/KEY

Restores the backup FILE into DIR, which must be empty or not exist. The
backup is checked whole (format, checksum, the data file's schema) before
anything is kept; a damaged or foreign file is refused and DIR stays as it
was. 'minitwit serve --data-dir DIR' then starts a new single-node cluster
with that state; other nodes join it as usual.

With --cluster it replaces the state of the running cluster that the local
node (found through the same configuration as serve) belongs to: the leader
takes the backup as a Raft snapshot and every member switches to it. Writes
made after the backup was taken are lost; the cluster keeps its identity
(internode CA, join token). It asks for confirmation unless --yes is given.

An s3:// source is fetched with the endpoint and credentials of backup.s3
in the configuration (--config, MINITWIT_BACKUP_S3_*), then restored the
same way.

An encrypted backup is decrypted with --key-file, or else with
backup.encryption_key_file in the configuration. Without a key, with
another key, or when the file was changed in any byte, it is refused with
one line and nothing changes.

Flags:
`

func runRestore(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("restore", restoreUsage)
	dataDir := fs.String("data-dir", "", "the empty data `dir` to restore into (or, with --cluster, the local node's)")
	cluster := fs.Bool("cluster", false, "replace the state of the running cluster")
	yes := fs.Bool("yes", false, "with --cluster: do not ask for confirmation")
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG): the node to restore with --cluster, and backup.encryption_key_file")
	addr := fs.String("addr", "", "with --cluster: `host:port` of the member to ask (default: the running local node's internode address)")
	keyFile := fs.String("key-file", "", "the age identity `file` an encrypted backup opens with (default: backup.encryption_key_file)")
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(args) == 0:
		return usageError(stderr, "restore", "no backup given: 'minitwit restore --data-dir DIR FILE'")
	case len(args) > 1:
		return usageError(stderr, "restore", "one backup at a time; unexpected %q", args[1])
	case *dataDir == "" && !*cluster:
		return usageError(stderr, "restore", "--data-dir DIR is required: the empty data dir to restore into (or --cluster for a running cluster)")
	}
	source := args[0]
	if strings.HasPrefix(source, "s3://") {
		local, err := fetchS3(source, *cfgFile)
		if err != nil {
			fmt.Fprintln(stderr, "minitwit restore:", err)
			return 1
		}
		defer os.Remove(local)
		source = local
	}
	key, err := restoreKey(source, *keyFile, *cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit restore:", err)
		return 1
	}
	if *cluster {
		return restoreCluster(source, key, *cfgFile, *dataDir, *addr, *yes, stdout, stderr)
	}
	f, err := os.Open(source)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit restore:", err)
		return 1
	}
	defer f.Close()
	r, err := backup.Open(f, key)
	if err != nil {
		fmt.Fprintf(stderr, "minitwit restore: %v; nothing was restored\n", err)
		return 1
	}
	h, err := node.RestoreDataDir(*dataDir, r)
	if err != nil {
		fmt.Fprintf(stderr, "minitwit restore: %v; nothing was restored\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored the backup of node %s at index %d (taken %s) into %s\n",
		h.Node, h.Index, h.Created.Format(time.RFC3339), *dataDir)
	return 0
}

// restoreKey is the key to open the backup in file with: --key-file, or,
// for an encrypted file, backup.encryption_key_file of the configuration.
// A plain file needs none (nil), so a restore without a configuration
// works as before.
func restoreKey(file, keyFile, cfgFile string) (*backup.Key, error) {
	if keyFile != "" {
		return backup.LoadKey(keyFile)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	encrypted := backup.IsEncrypted(bufio.NewReader(f))
	f.Close()
	if !encrypted {
		return nil, nil
	}
	cfg, err := loadNodeConfig(cfgFile, "")
	if err != nil {
		return nil, fmt.Errorf("%w; the configuration could not be read: %v", backup.ErrEncrypted, err)
	}
	if cfg.Backup.EncryptionKeyFile == "" {
		return nil, backup.ErrEncrypted
	}
	return backup.LoadKey(cfg.Backup.EncryptionKeyFile)
}

// openBackup opens file decrypted with key (nil for a plain backup).
func openBackup(file string, key *backup.Key) (io.Reader, io.Closer, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	r, err := backup.Open(f, key)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// readCloser is a reader with the file under it to close.
type readCloser struct {
	io.Reader
	io.Closer
}

func restoreCluster(file string, key *backup.Key, cfgFile, dataDir, addr string, yes bool, stdout, stderr io.Writer) int {
	fail := func(err error) int { fmt.Fprintln(stderr, "minitwit restore:", err); return 1 }
	cfg, err := loadNodeConfig(cfgFile, dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit restore:", err)
		return 2
	}
	r, f, err := openBackup(file, key)
	if err != nil {
		return fail(fmt.Errorf("%w; nothing changed", err))
	}
	h, err := backup.Read(r, io.Discard)
	f.Close()
	if err != nil {
		return fail(fmt.Errorf("%w; nothing changed", err))
	}
	client, err := node.NewClusterClient(cfg.DataDir)
	if err != nil {
		return fail(err)
	}
	if addr, err = localMember(cfg, addr); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rep, err := client.Members(ctx, addr)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "This replaces the state of the whole cluster (%d members) with the backup of node %s at index %d, taken %s.\n"+
		"Everything written since is lost.\n", len(rep.Members), h.Node, h.Index, h.Created.Format(time.RFC3339))
	if !yes {
		if !simulate.IsTerminal(os.Stdin) {
			return fail(errors.New("refusing without --yes: there is no terminal to confirm on"))
		}
		fmt.Fprint(stdout, "Type 'restore' to go on: ")
		answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "restore" {
			return fail(errors.New("not confirmed; nothing changed"))
		}
	}
	// Sent decrypted (the cluster port is mutual TLS); read again through
	// the authentication (on each attempt: the client sends it again if
	// leadership moves meanwhile), so a file changed since the check is
	// cut off and the leader refuses what it got.
	open := func() (io.ReadCloser, error) {
		r, f, err := openBackup(file, key)
		if err != nil {
			return nil, err
		}
		return readCloser{r, f}, nil
	}
	if err := client.RestoreCluster(ctx, addr, open); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "the cluster now holds the backup's state")
	return 0
}

// fetchS3 downloads an s3://bucket/key backup into a temporary file, using
// backup.s3's endpoint and credentials from the configuration.
func fetchS3(u, cfgFile string) (string, error) {
	bucket, key, err := backup.ParseS3URL(u)
	if err != nil {
		return "", err
	}
	cfg, err := loadNodeConfig(cfgFile, "")
	if err != nil {
		return "", err
	}
	c := cfg.Backup.S3
	if c.Endpoint == "" {
		return "", errors.New("an s3:// source needs backup.s3.endpoint and its credentials in the configuration")
	}
	s3, err := backup.NewS3(backup.S3Options{Endpoint: c.Endpoint, Bucket: bucket, Region: c.Region,
		AccessKey: c.AccessKey, SecretKey: c.SecretKey, Insecure: c.Insecure})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	r, err := s3.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := os.CreateTemp("", "minitwit-restore-*.mtb")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("fetching %s: %w", u, err)
	}
	return f.Name(), nil
}
