//go:build e2e

package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"minitwit/httpui/auth"
)

// TestAdminReset2FA: an admin who enrolled a second factor is asked for a
// code after the password; `minitwit admin reset-2fa NAME` on the node's
// machine (here on the stopped node's data dir) removes it, so the
// password alone signs in again; a repeat says there was none, an unknown
// name exits 1.
func TestAdminReset2FA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const password = "operator-password-2fa"
	s := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD="+password)
	admWaitLog(t, s, "created the first admin with the configured admin.password")

	b := newAdmBrowser(t)
	if to := b.signIn(s.base, "operator", password); to != "/" {
		t.Fatalf("signing in leads to %q, want /", to)
	}
	p := b.get(s.base + "/admin/2fa")
	m := regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("the enrollment page: %d\n%s", p.status, p.body)
	}
	code, err := auth.TOTPCode(m[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if p := b.do(http.MethodPost, s.base+"/admin/2fa", url.Values{"secret": {m[1]}, "code": {code}}); p.status != http.StatusOK || !strings.Contains(p.body, "Recovery codes") {
		t.Fatalf("confirming the enrollment: %d\n%s", p.status, p.body)
	}
	if to := newAdmBrowser(t).signIn(s.base, "operator", password); to != "/login/2fa" {
		t.Fatalf("with a second factor, the password leads to %q, want /login/2fa", to)
	}
	admStop(t, s)
	if strings.Contains(s.logs.String(), m[1]) {
		t.Error("the secret is in the node's output")
	}

	conf := filepath.Join(t.TempDir(), "admin.toml")
	if err := os.WriteFile(conf, []byte(`data_dir = "`+dir+`"
http_addr = "127.0.0.1:0"
raft_addr = "127.0.0.1:0"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"reset-2fa", "operator"}, 0, "two-factor sign-in of operator removed"},
		{[]string{"reset-2fa", "operator"}, 0, "operator had no two-factor sign-in"},
		{[]string{"reset-2fa", "nobody"}, 1, `there is no user called "nobody"`},
		{[]string{"reset-2fa"}, 2, "minitwit admin reset-2fa NAME"},
	}
	for _, c := range cases {
		code, out := runTool(append(append([]string{"admin"}, c.args...), "--config", conf)...)
		if code != c.code || !strings.Contains(out, c.contains) {
			t.Errorf("admin %v: exit %d, output %q; want exit %d containing %q", c.args, code, out, c.code, c.contains)
		}
	}

	s2 := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD="+password)
	op := newAdmBrowser(t)
	if to := op.signIn(s2.base, "operator", password); to != "/" {
		t.Fatalf("after reset-2fa, the password leads to %q, want /", to)
	}
	op.wantAdminPage(s2.base, "ok")
}
