package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"minitwit/httpui/auth"
	"minitwit/node"
	"minitwit/raftfsm"
	"minitwit/store"
)

const adminUsage = `Usage: minitwit admin create NAME [--email E] [--password-stdin]
       minitwit admin reset-password NAME [--password-stdin]
       minitwit admin grant NAME
       minitwit admin revoke NAME
       minitwit admin reset-2fa NAME

Manages the users who may open the admin page (/admin), through Raft:
create registers a new admin; reset-password replaces a user's password;
grant and revoke change an existing user's admin rights (the last admin
cannot be revoked); reset-2fa removes a user's two-factor sign-in (a lost
authenticator and recovery codes), so the password alone signs in until
they enroll again at /admin/2fa. Without --password-stdin a one-time
password is generated and printed; it must be replaced at the first
sign-in.

Names are unique regardless of case and Unicode look-alikes, so NAME
means the user of exactly that name, else the one whose name differs only
so (ALICE acts on alice, and says so); create refuses a name taken that
way. Names stored before that rule that clash (Alice and alice) must be
given exactly.

It reads the same configuration as serve (--config, MINITWIT_* env) to find
the node: when the node runs, the change goes through it, over the internode
port with its certificate (like 'minitwit cluster'); when it is stopped, the
node is started here for the change and stopped again; a data dir never
served gets the change written into its data file directly (state only:
no node id, addresses or Raft log).

Flags:
`

func runAdmin(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("admin", adminUsage)
	email := fs.String("email", "", "with create: the admin's e-mail `address` (for the avatar)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG)")
	dataDir := fs.String("data-dir", "", "the node's data `dir`")
	addr := fs.String("addr", "", "`host:port` of the member to go through when the node runs (default: its internode address, from its data dir)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	positional, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(positional) != 2 {
		return usageError(stderr, "admin", "%s", adminArgs(positional))
	}
	action, name := positional[0], positional[1]
	fail := func(code int, err error) int { fmt.Fprintln(stderr, "minitwit admin:", err); return code }
	if err := store.ValidateUsername(name); err != nil {
		return fail(2, err)
	}

	var password string
	temporary := false
	if action == "create" || action == "reset-password" {
		var err error
		if password, temporary, err = readPassword(*fromStdin, os.Stdin); err != nil {
			return fail(2, err)
		}
	}
	if !slices.Contains(adminActions, action) {
		return usageError(stderr, "admin", "unknown action %q%s", action, didYouMean(action, adminActions, ""))
	}
	if action == "create" {
		// A new name follows the rules against look-alikes and route names.
		if err := store.ValidateNewUsername(name); err != nil {
			return fail(2, err)
		}
		if err := store.ValidateEmail(*email); err != nil {
			return fail(2, err)
		}
	}

	cfg, err := loadNodeConfig(*cfgFile, *dataDir)
	if err != nil {
		return fail(2, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var res raftfsm.Result
	stored := name // the stored spelling of the user named (node.ResolveUsername)
	run := func(p node.Proposer) error {
		// Names are unique up to case and Unicode look-alikes
		// (store.FoldName): every action resolves the name the operator
		// typed to the one account it can mean, and create refuses a name
		// whose folded form is taken, naming the stored spelling.
		found, err := node.ResolveUsername(ctx, p, name)
		var amb *store.AmbiguousNameError
		switch {
		case action == "create" && errors.As(err, &amb):
			stored = amb.Matches[0]
			return store.ErrNameTaken
		case action == "create" && err == nil:
			stored = found
			return store.ErrNameTaken
		case errors.Is(err, store.ErrUnknownUser):
			// Proposed as typed all the same (create; the others are refused
			// by the state machine, which records the attempt in the audit
			// trail).
		case err != nil:
			return err
		default:
			stored = found
		}
		var cmd raftfsm.Command
		switch action {
		case "create":
			cmd = &raftfsm.CreateAdmin{Username: name, Email: *email, PasswordHash: auth.HashPassword(password), Temporary: temporary}
		case "reset-password":
			cmd = &raftfsm.SetPassword{User: stored, Hash: auth.HashPassword(password), Temporary: temporary}
		case "grant", "revoke":
			cmd = &raftfsm.SetAdmin{User: stored, Admin: action == "grant"}
		case "reset-2fa":
			cmd = &raftfsm.TOTPReset{User: stored}
		}
		if res, err = p.Propose(ctx, cmd); err != nil {
			return err
		}
		return res.Err
	}
	quiet := toolLogger(stderr)
	err = node.WithDataDir(ctx, cfg, quiet, run)
	if errors.Is(err, node.ErrDataDirInUse) {
		var client *node.ClusterClient
		if client, err = node.NewClusterClient(cfg.DataDir); err == nil {
			if *addr, err = localMember(cfg, *addr); err == nil {
				err = run(client.Proposer(*addr))
			}
		}
	}
	var amb *store.AmbiguousNameError
	switch {
	case errors.As(err, &amb):
		return fail(1, err)
	case errors.Is(err, store.ErrNameTaken):
		return fail(1, fmt.Errorf("a user called %q exists; make them an admin with 'minitwit admin grant %s'", stored, stored))
	case errors.Is(err, store.ErrUnknownUser):
		return fail(1, fmt.Errorf("there is no user called %q", name))
	case errors.Is(err, store.ErrLastAdmin):
		return fail(1, fmt.Errorf("%q is the last admin; grant someone else first", stored))
	case err != nil:
		return fail(1, err)
	}
	if stored != name {
		fmt.Fprintf(stdout, "%q is the user %s\n", name, stored)
	}
	switch action {
	case "create":
		fmt.Fprintf(stdout, "created admin %s\n", name)
	case "reset-password":
		fmt.Fprintf(stdout, "password of %s replaced\n", stored)
	case "grant":
		fmt.Fprintf(stdout, "%s is now an admin\n", stored)
	case "revoke":
		fmt.Fprintf(stdout, "%s is no longer an admin\n", stored)
	case "reset-2fa":
		if res.ID == 0 {
			fmt.Fprintf(stdout, "%s had no two-factor sign-in\n", stored)
		} else {
			fmt.Fprintf(stdout, "two-factor sign-in of %s removed; the password alone signs in until they enroll again\n", stored)
		}
	}
	if temporary {
		fmt.Fprintf(stdout, "one-time password: %s\n(it must be replaced at the first sign-in)\n", password)
	}
	return 0
}

// adminActions are the actions runAdmin knows, for "did you mean".
var adminActions = []string{"create", "reset-password", "grant", "revoke", "reset-2fa"}

// adminArgs says what is wrong with an admin command line that is not an
// action and a name.
func adminArgs(positional []string) string {
	switch {
	case len(positional) == 0:
		return "no action: create, reset-password, grant, revoke or reset-2fa, then a user name"
	case !slices.Contains(adminActions, positional[0]):
		return fmt.Sprintf("unknown action %q%s", positional[0], didYouMean(positional[0], adminActions, ""))
	case len(positional) == 1:
		return fmt.Sprintf("%s needs a user name: 'minitwit admin %s NAME'", positional[0], positional[0])
	default:
		return fmt.Sprintf("unexpected argument %q after the user name", positional[2])
	}
}

// readPassword reads the first line of stdin, or generates a one-time
// password (130 bits) when asked for none.
func readPassword(fromStdin bool, stdin io.Reader) (password string, temporary bool, err error) {
	if !fromStdin {
		return rand.Text(), true, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", false, fmt.Errorf("reading the password from standard input: %w", err)
	}
	password = strings.TrimRight(line, "\r\n")
	if len(password) < auth.MinPasswordLen {
		return "", false, fmt.Errorf("the password must be at least %d characters", auth.MinPasswordLen)
	}
	return password, false, nil
}
