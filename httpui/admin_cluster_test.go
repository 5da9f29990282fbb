package httpui_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// TestAdminCluster: on a 3-node cluster, one node's admin page lists all
// three with their roles, and follows a follower's log live, its samples
// and its recent lines, over the cluster RPC.
func TestAdminCluster(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartClusterWith(t, web, 3, nil)
	base := "http://" + nodes[0].HTTPAddr()
	admin := adminSession(t, base)

	// The overview, served by node1, describes every member.
	testwait.UntilNil(t, "the overview to show 1 leader and 2 followers", func() error {
		p := admin.get(t, "/admin")
		roles := map[string]string{}
		for _, m := range regexp.MustCompile(`(?s)<tr data-node="([^"]+)">.*?<td class="role">([^<]*)</td>`).FindAllStringSubmatch(p.Body, -1) {
			roles[m[1]] = m[2]
		}
		leaders, followers := 0, 0
		for _, r := range roles {
			switch r {
			case "leader":
				leaders++
			case "follower":
				followers++
			}
		}
		if len(roles) == 3 && leaders == 1 && followers == 2 {
			for _, n := range nodes {
				if _, ok := roles[n.ID()]; !ok {
					t.Errorf("the overview lacks %s: %v", n.ID(), roles)
				}
			}
			uiWantLacks(t, p, "unreachable", "Raft timing")
			uiWantContains(t, p, `<span class="good">3 voters, quorum 2: survives 1 node failure.</span>`)
			return nil
		}
		return fmt.Errorf("the overview shows roles %v, want 1 leader and 2 followers among 3 nodes", roles)
	})

	// The live tail of a follower, from node1's page.
	follower := nodes[2]
	marker := loginNameHash("cluster-tail-marker")
	next := adminTail(t, admin, base+"/admin/logs/stream?node="+follower.ID()+"&q="+marker)
	uiClient(t, "http://"+follower.HTTPAddr()).post(t, "/login", uiForm("username", "cluster-tail-marker", "password", "x"))
	if line := next(); line["node"] != follower.ID() || line["user_hash"] != marker {
		t.Fatalf("tailed %v, want %s's refused login", line, follower.ID())
	}

	// Recent lines and charts of the follower, without JavaScript.
	p := admin.get(t, "/admin/logs?node="+follower.ID()+"&q="+marker)
	uiWantContains(t, p, "login refused", "node="+follower.ID()+" ") // the line's details
	p = admin.get(t, "/admin/charts?node="+follower.ID())
	uiWantContains(t, p, "Charts of "+follower.ID())
	uiWantLacks(t, p, `class="error"`)
	d := admin.getStay(t, "/admin/logs/download?node="+follower.ID())
	uiWantStatus(t, d, http.StatusOK)
	if !strings.Contains(d.Body, marker) {
		t.Error("the follower's downloaded log lacks the refused login")
	}
}

// TestAdminTimingMismatch: a member whose Raft timing differs from the
// leader's is named on the overview, with both timings, as `minitwit
// cluster status` names it.
func TestAdminTimingMismatch(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartClusterWith(t, web, 2, func(i int, cfg *config.Config) {
		if i == 1 {
			cfg.Raft.HeartbeatTimeout = config.Duration(100 * time.Millisecond)
			cfg.Raft.ElectionTimeout = config.Duration(100 * time.Millisecond)
			cfg.Raft.LeaderLeaseTimeout = config.Duration(50 * time.Millisecond)
		}
	})
	admin := adminSession(t, "http://"+nodes[0].HTTPAddr())
	usual := nodetest.Config(t.TempDir()).Raft.Timing().String() // node 0's
	// Whichever leads, the other is named; between leaders there is no
	// leader's timing to compare with, so ask until there is one.
	testwait.UntilNil(t, "the overview to name the member with other timing", func() error {
		p := admin.get(t, "/admin")
		if n := strings.Count(p.Body, "differs from the leader"); n != 1 {
			return fmt.Errorf("%d timing warnings", n)
		}
		uiWantContains(t, p, "heartbeat 100ms, election 100ms,", usual, "give every member the same raft.profile and raft.*_timeout")
		// Two voters survive no failure: said, and not in green.
		uiWantContains(t, p, `<span class="bad">2 voters, quorum 2: survives 0 node failures.</span>`)
		return nil
	})
}
