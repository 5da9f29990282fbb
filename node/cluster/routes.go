package cluster

import "net/http"

// The cluster RPC's route table: every path of the internode RPC, what it
// is for, and its handler, in one place. Server.handler registers exactly
// these; the client (client.go) names the same constants.
const (
	// Raft's helpers, between members.
	rpcPropose     = "/propose"      // a forwarded write (raftfsm.Tagged), answered with its result
	rpcReadIdx     = "/read-index"   // the leader's commit index, vouched for by a quorum
	rpcAddVoter    = "/add-voter"    // re-address a member (or add a voter, for older joiners)
	rpcAddMember   = "/add-member"   // add a joining node as a non-voter (membership.go)
	rpcMemberReady = "/member-ready" // the leader asks a non-voter whether it may vote
	rpcRemove      = "/remove"       // take a member out of the configuration
	rpcStatus      = "/status"       // this node's role and progress (nodeinfo.Status)

	// The format gate (formatgate.go).
	rpcClusterFormat = "/cluster-format" // does every member read ?format=

	// Administration (`minitwit cluster|backup|restore|flag ...`).
	rpcMembers  = "/members"  // this node's view of the cluster (MembersReport)
	rpcTransfer = "/transfer" // hand leadership over
	rpcToken    = "/token"    // the join token
	rpcBackup   = "/backup"   // a backup of the state, streamed
	rpcRestore  = "/restore"  // replace the cluster's state by a backup
	rpcFlagged  = "/flagged"  // the flagged messages (FlaggedMessage)

	// `minitwit admin NAME`: the stored names ?name= can mean (store.UsernameMatches).
	rpcUsernames = "/usernames"

	// The admin page's view of every member (node/adminview.go).
	rpcInfo       = "/info"        // nodeinfo.Info
	rpcSamples    = "/samples"     // sampled figures since ?since= (ns)
	rpcLogsRecent = "/logs/recent" // up to ?max= recent log lines
	rpcLogsTail   = "/logs/tail"   // new log lines, streamed
	rpcLogsFile   = "/logs/file"   // the current log file

	// In-node alerting (node/alerts.go).
	rpcAlertFacts = "/alerts/facts" // this node's facts; the body carries the evaluator's state
)

type route struct {
	method, path string
	handle       func(*Server, http.ResponseWriter, *http.Request)
	// audit names the operator action a 200 answer records in the audit
	// trail, with the caller's node id (audit.go); /propose records the
	// operator commands among forwarded writes itself.
	audit string
}

var routes = []route{
	{http.MethodPost, rpcPropose, (*Server).servePropose, ""},
	{http.MethodPost, rpcReadIdx, (*Server).serveReadIndex, ""},
	{http.MethodPost, rpcAddVoter, (*Server).serveAddVoter, ""},
	{http.MethodPost, rpcAddMember, (*Server).serveAddMember, ""},
	{http.MethodGet, rpcMemberReady, (*Server).serveMemberReady, ""},
	{http.MethodPost, rpcRemove, (*Server).serveRemove, "remove member"},
	{http.MethodGet, rpcStatus, (*Server).serveStatus, ""},
	{http.MethodGet, rpcClusterFormat, (*Server).serveClusterFormat, ""},
	{http.MethodGet, rpcMembers, (*Server).serveMembers, ""},
	{http.MethodPost, rpcTransfer, (*Server).serveTransfer, "transfer leadership"},
	{http.MethodGet, rpcToken, (*Server).serveToken, "read join token"},
	{http.MethodGet, rpcBackup, (*Server).serveBackup, "download backup"},
	{http.MethodPost, rpcRestore, (*Server).serveRestore, "restore backup"},
	{http.MethodGet, rpcFlagged, (*Server).serveFlagged, "list flagged messages"},
	{http.MethodGet, rpcUsernames, (*Server).serveUsernames, ""},
	{http.MethodGet, rpcInfo, (*Server).serveInfo, ""},
	{http.MethodGet, rpcSamples, (*Server).serveSamples, ""},
	{http.MethodGet, rpcLogsRecent, (*Server).serveLogsRecent, ""},
	{http.MethodGet, rpcLogsTail, (*Server).serveLogTail, ""},
	{http.MethodGet, rpcLogsFile, (*Server).serveLogFile, ""},
	{http.MethodPost, rpcAlertFacts, (*Server).serveAlertFacts, ""},
}

// handler is the cluster RPC's mux, built from the route table; every
// route is for members only (boundary.go).
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := func(w http.ResponseWriter, r *http.Request) { rt.handle(s, w, r) }
		if rt.audit != "" {
			h = s.audited(rt.audit, h)
		}
		mux.HandleFunc(rt.method+" "+rt.path, s.membersOnly(rt.path, h))
	}
	return mux
}
