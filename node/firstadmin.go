package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"minitwit/httpui/auth"
	"minitwit/raftfsm"
	"minitwit/store"
)

// The first admin. A new cluster has nobody who may open /admin, so the
// first leader creates one: admin.username with admin.password, or, when
// no password is configured, a generated one-time password that this node
// prints once on its console (standard error; Options.Console), never in
// its log (the ring the admin page shows, the log file), and that must be
// replaced at the first sign-in.
// The command is FirstOnly: once any admin exists every replica refuses
// it, so a leader change or a restart can never create a second one or
// print a second password.

// ensureFirstAdmin runs on the leader while the store has no admin.
func (n *Node) ensureFirstAdmin(ctx context.Context) {
	admins, err := n.adminCount()
	if err != nil {
		return // tried again at the next check
	}
	if admins > 0 {
		// A proposal of ours whose answer was lost (a timeout, a leader
		// change) may have made the admin after all: then its password
		// must still be told, once.
		if p := n.firstAdmin.pending; p != nil {
			var u store.User
			if err := n.store.View(func(tx *store.ReadTx) error { u, _ = tx.UserByName(p.cmd.Username); return nil }); err != nil {
				return // the password is still pending: told at the next check
			}
			n.firstAdmin.pending = nil
			if u.Admin && u.PasswordHash == p.cmd.PasswordHash {
				n.announceFirstAdmin(p.cmd, p.password)
			}
		}
		return
	}
	if err := n.checkClusterReads(ctx, raftfsm.FormatOf(&raftfsm.CreateAdmin{})); err != nil {
		// A rolling upgrade in progress: the older members could not
		// apply it. Said once; tried again every second.
		if !n.firstAdmin.waitSaid {
			n.firstAdmin.waitSaid = true
			n.log.Info("the first admin is created once every member runs this version", "reason", err.Error())
		}
		return
	}
	p := n.firstAdmin.pending
	n.firstAdmin.pending = nil
	if p == nil {
		password, temporary := n.cfg.Admin.Password, false
		if password == "" {
			password, temporary = rand.Text(), true // 26 base32 letters, 130 bits
		}
		p = &pendingAdmin{password: password, cmd: &raftfsm.CreateAdmin{Username: n.cfg.Admin.Username,
			PasswordHash: auth.HashPassword(password), FirstOnly: true, Temporary: temporary}}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := n.Propose(pctx, p.cmd)
	if err == nil {
		err = res.Err
	}
	switch {
	case errors.Is(err, store.ErrAdminExists):
		return // another leader (or an earlier term of ours) made one
	case errors.Is(err, store.ErrNameTaken):
		n.log.Error("cannot create the first admin: a user with that name exists; set admin.username to another name, "+
			"or make that user an admin with `minitwit admin grant`", "user", p.cmd.Username)
		n.firstAdmin.stuck = true
		return
	case err != nil:
		// Retried with the same password, so whichever attempt lands is
		// the one announced.
		n.firstAdmin.pending = p
		select {
		case <-n.closing:
		default:
			n.log.Warn("creating the first admin failed; will retry", "err", err.Error())
		}
		return
	}
	n.announceFirstAdmin(p.cmd, p.password)
}

// firstAdminState is ensureFirstAdmin's memory between runs; only the
// leadership loop touches it.
type firstAdminState struct {
	stuck    bool          // the name is taken: stop retrying (the log says what to do)
	waitSaid bool          // "waiting for the upgrade" was logged
	pending  *pendingAdmin // a proposal whose outcome is not known yet
}

// pendingAdmin is a first-admin proposal whose outcome is not known yet.
type pendingAdmin struct {
	cmd      *raftfsm.CreateAdmin
	password string
}

// announceFirstAdmin logs how to sign in as the first admin.
func (n *Node) announceFirstAdmin(cmd *raftfsm.CreateAdmin, password string) {
	login := "http://" + n.reachableAddr() + "/login"
	switch {
	case n.cfg.TLS.Domain != "":
		login = "https://" + n.cfg.TLS.Domain + "/login"
	case n.tlsPublic != nil && n.tlsPublic.Config != nil:
		login = "https://" + n.reachableAddr() + "/login"
	}
	if !cmd.Temporary {
		n.log.Warn("created the first admin with the configured admin.password", "user", cmd.Username, "login", login)
		return
	}
	// The secret goes to the console once and never into the log, whose
	// lines also live in the admin page's ring, the log file and whatever
	// collects them.
	fmt.Fprintf(n.console, "\nMiniTwit created the first admin %q. Sign in at %s with this\n"+
		"one-time password, which must be changed at the first sign-in (it is shown here only):\n\n"+
		"    one-time password: %s\n\n", cmd.Username, login, password)
	n.log.Warn("created the first admin with a one-time password, shown once on this node's console (standard error), never logged",
		"user", cmd.Username, "login", login)
}

// reachableAddr is the public listener's address as a person would type
// it: a listener on all interfaces is shown with this machine's host name.
func (n *Node) reachableAddr() string {
	addr := n.HTTPAddr()
	host, port, err := net.SplitHostPort(addr)
	if ip, perr := netip.ParseAddr(host); err == nil && perr == nil && ip.IsUnspecified() {
		name, err := os.Hostname()
		if err != nil || name == "" {
			name = "localhost"
		}
		return net.JoinHostPort(name, port)
	}
	return addr
}

func (n *Node) adminCount() (uint64, error) {
	var c store.Counts
	err := n.store.View(func(tx *store.ReadTx) error { c = tx.Counts(); return nil })
	return c.Admins, err
}
