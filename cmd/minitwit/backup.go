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

Writes a consistent backup of a node's state to FILE (compressed, with a
header and a checksum; see ops/backup). It reads the same configuration as
serve (--config, MINITWIT_* env) to find the node's data dir. When that
node is running, the backup is taken by the node, over the internode port
with its certificate, and holds every write acknowledged before it began;
when it is stopped, the data dir is read directly. With --url, a node
anywhere is asked over HTTP(S) with its admin token (admin.token). The file
is written beside FILE, checked, and only then renamed to FILE.

Flags:
`

func runBackup(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup", backupUsage)
	out := fs.String("out", "", "write the backup to `FILE` (required)")
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG)")
	dataDir := fs.String("data-dir", "", "the node's data `dir`")
	addr := fs.String("addr", "", "`host:port` of the member to ask when the node runs (default: its internode address, from its data dir)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	remote := fs.String("url", "", "the node's public base `URL` (e.g. https://minitwit.example.org) to ask over HTTP")
	token := fs.String("token", "", "with --url: the node's admin `token` (default $MINITWIT_ADMIN_TOKEN)")
	ca := fs.String("ca", "", "with --url: a PEM `file` to trust besides the system's roots (a self-signed node)")
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
	if *remote != "" {
		client, err := newAdminClient(*remote, *token, *ca)
		if err != nil {
			fmt.Fprintln(stderr, "minitwit backup:", err)
			return 2
		}
		h, size, err := writeChecked(*out, func(w io.Writer) error {
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
		fmt.Fprintf(stdout, "backup of node %s at index %d (%d bytes of data) taken by %s: %s, %d bytes\n",
			h.Node, h.Index, h.Size, *remote, filepath.Clean(*out), size)
		return 0
	}
	cfg, err := loadNodeConfig(*cfgFile, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit backup:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	how := "from the stopped node's data dir"
	h, size, err := writeChecked(*out, func(w io.Writer) error {
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
	fmt.Fprintf(stdout, "backup of node %s at index %d (%d bytes of data) taken %s: %s, %d bytes\n",
		h.Node, h.Index, h.Size, how, filepath.Clean(*out), size)
	return 0
}

// writeChecked writes a backup to path.tmp with write, reads it back with
// backup.Read (format and checksum), and renames it to path. It returns
// the backup's header and the file's size.
func writeChecked(path string, write func(io.Writer) error) (backup.Header, int64, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return backup.Header{}, 0, err
	}
	defer os.Remove(tmp)
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return backup.Header{}, 0, err
	}
	f, err = os.Open(tmp)
	if err != nil {
		return backup.Header{}, 0, err
	}
	h, err := backup.Read(f, io.Discard)
	info, serr := f.Stat()
	f.Close()
	if err != nil {
		return h, 0, fmt.Errorf("the backup written to %s does not check out: %w", tmp, err)
	}
	if serr != nil {
		return h, 0, serr
	}
	return h, info.Size(), os.Rename(tmp, path)
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

Flags:
`

func runRestore(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("restore", restoreUsage)
	dataDir := fs.String("data-dir", "", "the empty data `dir` to restore into (or, with --cluster, the local node's)")
	cluster := fs.Bool("cluster", false, "replace the state of the running cluster")
	yes := fs.Bool("yes", false, "with --cluster: do not ask for confirmation")
	cfgFile := fs.String("config", "", "with --cluster: TOML `file` as for serve (env MINITWIT_CONFIG)")
	addr := fs.String("addr", "", "with --cluster: `host:port` of the member to ask (default: the running local node's internode address)")
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
	if *cluster {
		return restoreCluster(source, *cfgFile, *dataDir, *addr, *yes, stdout, stderr)
	}
	f, err := os.Open(source)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit restore:", err)
		return 1
	}
	defer f.Close()
	h, err := node.RestoreDataDir(*dataDir, f)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit restore:", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored the backup of node %s at index %d (taken %s) into %s\n",
		h.Node, h.Index, h.Created.Format(time.RFC3339), *dataDir)
	return 0
}

func restoreCluster(file, cfgFile, dataDir, addr string, yes bool, stdout, stderr io.Writer) int {
	fail := func(err error) int { fmt.Fprintln(stderr, "minitwit restore:", err); return 1 }
	cfg, err := loadNodeConfig(cfgFile, dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit restore:", err)
		return 2
	}
	f, err := os.Open(file)
	if err != nil {
		return fail(err)
	}
	h, err := backup.Read(f, io.Discard)
	f.Close()
	if err != nil {
		return fail(err)
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
	if err := client.RestoreCluster(ctx, addr, file); err != nil {
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
