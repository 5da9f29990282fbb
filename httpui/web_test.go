package httpui_test

import (
	"testing"

	"minitwit/httpui"
	"minitwit/httpui/httpuitest"
	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/store"
)

// Two kinds of node serve these tests. Tests of the handlers' own
// behaviour (pages, the API contract, sessions on one node, headers,
// names, sign-in limits, the fuzz targets) run over httpuitest's node:
// the real handler, state machine and store, no Raft, served from an
// httptest.Server. Tests that need what only a node has (a cluster,
// Raft's metrics and overview, scheduled backups, the listener's
// connection cap, a restart, a shutdown with streams open, clients that
// leave mid-write, a browser) start real nodes through nodetest.

// web is the test nodes' public handler, wired as cmd/minitwit wires it.
func web(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }

// fake starts httpui's handler over a node without Raft, configured as
// nodetest configures a real one after edit (which may be nil), and
// returns it with its base URL.
func fake(t testing.TB, edit func(*config.Config)) (*httpuitest.Node, string) {
	t.Helper()
	cfg := nodetest.Config(t.TempDir())
	if edit != nil {
		edit(&cfg)
	}
	n := httpuitest.Start(t, cfg)
	return n, n.URL
}

// fakeDefault is fake with nodetest's configuration as it is.
func fakeDefault(t testing.TB) (*httpuitest.Node, string) {
	t.Helper()
	return fake(t, nil)
}

// storeHolder is either kind of test node, as the store helpers read it.
type storeHolder interface{ Store() *store.Store }
