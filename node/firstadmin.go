package node

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"minitwit/httpui"
	"minitwit/raftfsm"
	"minitwit/store"
)

// The first admin. A new cluster has nobody who may open /admin, so the
// first leader creates one: admin.username with admin.password, or, when
// no password is configured, a generated one-time password that this node
// prints to its log once and that must be replaced at the first sign-in
// (so the line in the log stops being a secret the moment it is used).
// The command is FirstOnly: once any admin exists every replica refuses
// it, so a leader change or a restart can never create a second one or
// print a second password.

// ensureFirstAdmin runs on the leader while the store has no admin.
func (n *Node) ensureFirstAdmin(ctx context.Context) {
	if n.adminCount() > 0 {
		return
	}
	password, temporary := n.cfg.Admin.Password, false
	if password == "" {
		password, temporary = rand.Text(), true // 26 base32 letters, 130 bits
	}
	cmd := &raftfsm.CreateAdmin{Username: n.cfg.Admin.Username, PasswordHash: httpui.HashPassword(password),
		FirstOnly: true, Temporary: temporary}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := n.Propose(pctx, cmd)
	if err == nil {
		err = res.Err
	}
	switch {
	case errors.Is(err, store.ErrAdminExists):
		return // another leader (or an earlier term of ours) made one
	case errors.Is(err, store.ErrNameTaken):
		n.log.Error("cannot create the first admin: a user with that name exists; set admin.username to another name, "+
			"or make that user an admin with `minitwit admin grant`", "user", n.cfg.Admin.Username)
		n.firstAdminStuck = true
		return
	case err != nil:
		n.log.Warn("creating the first admin failed; will retry", "err", err.Error())
		return
	}
	login := "http://" + n.HTTPAddr() + "/login"
	switch {
	case n.cfg.TLS.Domain != "":
		login = "https://" + n.cfg.TLS.Domain + "/login"
	case n.tlsPublic != nil && n.tlsPublic.config != nil:
		login = "https://" + n.HTTPAddr() + "/login"
	}
	if !temporary {
		n.log.Warn("created the first admin with the configured admin.password", "user", n.cfg.Admin.Username, "login", login)
		return
	}
	// The one line that carries a secret, by design: it stops being one at
	// the first sign-in, which must replace it.
	n.log.Warn("created the first admin: sign in with this one-time password, which must be changed at the first sign-in",
		"user", n.cfg.Admin.Username, "one_time_password", password, "login", login)
}

func (n *Node) adminCount() uint64 {
	var c store.Counts
	n.store.View(func(tx *store.ReadTx) error { c = tx.Counts(); return nil })
	return c.Admins
}
