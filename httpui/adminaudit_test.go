package httpui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// TestAdminAuditTrail: the admin page's own actions (a reveal of the join
// token, a flag, admin rights, a sign-out everywhere, a refused grant)
// and an action recorded over the internode port appear on /admin/audit,
// newest first, with the admin's name and the node, or the caller's node
// id; the page shows no secret, and is for admins only.
func TestAdminAuditTrail(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	var token string
	uiView(t, n, func(tx *store.ReadTx) error { token = string(tx.Secrets().JoinToken); return nil })
	user := uiSignup(t, base, "auditsubject")
	uiPostMessage(t, user, "a message to flag")
	id := uiUserMessages(t, n, "auditsubject")[0].ID

	admin := adminSession(t, base)
	uiWantStatus(t, admin.post(t, "/admin/join-token", uiForm()), http.StatusOK)
	uiWantStatus(t, admin.post(t, fmt.Sprintf("/admin/messages/%d/flag", id), uiForm()), http.StatusOK)
	uiWantStatus(t, admin.post(t, "/admin/users/auditsubject/admin", uiForm("admin", "1")), http.StatusOK)
	uiWantStatus(t, admin.post(t, "/admin/users/auditsubject/signout", uiForm()), http.StatusOK)
	uiWantStatus(t, admin.postStay(t, "/admin/users/ghost/admin", uiForm("admin", "1")), http.StatusNotFound)
	// What node/cluster records for `minitwit cluster token` run with
	// node2's certificate against this node.
	if res, err := n.Propose(context.Background(), &raftfsm.Audit{Time: 1, Node: "node2", Via: n.ID(), Action: "read join token"}); err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	if u, _ := uiUser(t, n, "auditsubject"); !u.Admin {
		t.Fatal("the audited grant was not applied")
	}

	p := admin.get(t, "/admin/audit")
	uiWantStatus(t, p, http.StatusOK)
	uiWantLacks(t, p, token)
	rows := regexp.MustCompile(`(?s)<tr data-seq="\d+">(.*?)</tr>`).FindAllStringSubmatch(p.Body, -1)
	var got []string
	for _, r := range rows {
		cells := regexp.MustCompile(`<td data-label="[^"]*"[^>]*>([^<]*)</td>`).FindAllStringSubmatch(r[1], -1)
		var texts []string
		for _, c := range cells[1:] { // the time varies
			texts = append(texts, c[1])
		}
		got = append(got, strings.Join(texts, " | "))
	}
	self := n.ID()
	want := []string{
		"node node2 | " + self + " | read join token | &ndash; | ok",
		adminName + " (admin page on " + self + ") | " + self + " | grant admin | ghost | refused: unknown_user",
		adminName + " (admin page on " + self + ") | " + self + " | sign out everywhere | auditsubject | ok",
		adminName + " (admin page on " + self + ") | " + self + " | grant admin | auditsubject | ok",
		adminName + " (admin page on " + self + ") | " + self + " | flag message | " + fmt.Sprint(id) + " | ok",
		adminName + " (admin page on " + self + ") | " + self + " | reveal join token | &ndash; | ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit page rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	uiWantContains(t, p, `<a href="/admin/audit" class="current">audit</a>`)

	// Admins only.
	uiWantStatus(t, uiSignup(t, base, "nosyauditor").getStay(t, "/admin/audit"), http.StatusForbidden)
	uiWantRedirect(t, uiClient(t, base).getStay(t, "/admin/audit"), "/login?next=%2Fadmin%2Faudit")
}

// TestAdminAuditTrailOnEveryNode: on a 3-node cluster, an operator's
// `cluster token` and `admin grant` made with node2's certificate, and an
// admin's reveal of the join token on node3's admin page, are listed on
// every node's /admin/audit with the caller: node2's id, and the admin's
// name with node3.
func TestAdminAuditTrailOnEveryNode(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	c := nodetest.ClusterClient(t, nodes[1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*testwait.Timeout)
	defer cancel()
	if _, err := c.Token(ctx, nodes[0].RaftAddr()); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Proposer(nodes[0].RaftAddr()).Propose(ctx, &raftfsm.SetAdmin{User: adminName, Admin: true}); err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	uiWantStatus(t, adminSession(t, "http://"+nodes[2].HTTPAddr()).post(t, "/admin/join-token", uiForm()), http.StatusOK)

	want := []string{
		adminName + ` \(admin page on ` + nodes[2].ID() + `\)</td>\s*<td data-label="served by">` + nodes[2].ID() + `</td>\s*<td data-label="action" class="action">reveal join token<`,
		`node ` + nodes[1].ID() + `</td>\s*<td data-label="served by">[^<]+</td>\s*<td data-label="action" class="action">grant admin</td>\s*<td data-label="target">` + adminName + `<`,
		`node ` + nodes[1].ID() + `</td>\s*<td data-label="served by">` + nodes[0].ID() + `</td>\s*<td data-label="action" class="action">read join token<`,
	}
	for _, n := range nodes {
		admin := adminSession(t, "http://"+n.HTTPAddr())
		testwait.UntilNil(t, n.ID()+"'s audit page to list the three actions", func() error {
			p := admin.get(t, "/admin/audit")
			at := 0
			for _, w := range want {
				loc := regexp.MustCompile(w).FindStringIndex(p.Body[at:])
				if loc == nil {
					return fmt.Errorf("no row matching %s after byte %d of\n%s", w, at, p.Body)
				}
				at += loc[1]
			}
			return nil
		})
	}
}
