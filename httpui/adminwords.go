package httpui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"minitwit/node/nodeinfo"
)

// What the admin pages say in sentences rather than figures or Go errors:
// the cluster's fault tolerance, why a member could not be asked, members
// whose Raft timing differs from the leader's, and counts with their noun.

// faultTolerance says how many more node failures the cluster survives, by
// Raft's arithmetic: writes need a quorum, a majority of the voters; a
// non-voter (a node still catching up) counts for nothing. ok is false
// when one more failure (or none) stops writes in a cluster built to
// survive one.
func faultTolerance(nodes []nodeinfo.Info) (line string, ok bool) {
	voters, down := 0, 0
	for _, n := range nodes {
		if !n.Voter {
			continue
		}
		voters++
		if n.Err != "" {
			down++
		}
	}
	if voters == 0 {
		return "No voters known: this node has no cluster configuration yet.", false
	}
	quorum := voters/2 + 1
	line = fmt.Sprintf("%s, quorum %d: ", countNoun(voters, "voter", "voters"), quorum)
	switch spare := voters - down - quorum; {
	case voters == 1:
		return line + "a single node survives no node failure (three voters survive one).", true
	case spare < 0:
		return line + fmt.Sprintf("%d unreachable, so the cluster has lost its quorum and takes no writes.", down), false
	case down == 0:
		return line + "survives " + countNoun(spare, "node failure", "node failures") + ".", spare > 0
	default:
		return line + fmt.Sprintf("%d unreachable; survives %s more.", down, countNoun(spare, "node failure", "node failures")), spare > 0
	}
}

// countNoun writes "1 admin", "2 admins", "0 admins".
func countNoun[N int | uint64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// memberProblem says in a sentence why a member could not be asked. The
// raw error is for the logs; an operator reading the page needs to know
// whether the node is stopped, slow, unknown or misconfigured.
func memberProblem(id string, err error) string {
	if err == nil {
		return ""
	}
	switch {
	case errors.Is(err, nodeinfo.ErrUnknownNode):
		return fmt.Sprintf("There is no member called %q in this cluster.", id)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Sprintf("Node %s did not answer in time: it may be overloaded, paused, or cut off from this node.", id)
	}
	return memberProblemText(id, err.Error())
}

// mentionsAny returns the test the error sentences are chosen by: whether
// msg holds any of the words (lower case), ignoring case.
func mentionsAny(msg string) func(words ...string) bool {
	lower := strings.ToLower(msg)
	return func(words ...string) bool {
		return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(lower, w) })
	}
}

// memberProblemText is memberProblem for an error already turned into text
// (a member's row of the overview carries its error as a string).
func memberProblemText(id, msg string) string {
	has := mentionsAny(msg)
	switch {
	case msg == "":
		return ""
	case has("did not answer in time", "deadline exceeded", "timeout", "i/o timeout"):
		return fmt.Sprintf("Node %s did not answer in time: it may be overloaded, paused, or cut off from this node.", id)
	case has("connection refused"):
		return fmt.Sprintf("Node %s refuses connections: it is probably stopped, or restarting.", id)
	case has("no route to host", "network is unreachable", "host is down"):
		return fmt.Sprintf("Node %s cannot be reached over the network from this node.", id)
	case has("no such host"):
		return fmt.Sprintf("Node %s's address does not resolve: check its raft address.", id)
	case has("certificate", "tls:", "x509"):
		return fmt.Sprintf("Node %s was reached, but the TLS handshake failed: check that both nodes hold the same cluster certificate authority.", id)
	case has("connection reset", "eof", "broken pipe"):
		return fmt.Sprintf("Node %s closed the connection before answering: it may be shutting down.", id)
	}
	return fmt.Sprintf("Node %s could not be asked; its log and this node's have the details.", id)
}

// backupProblem says in a sentence what a failed scheduled backup needs
// from the operator; the error itself is shown beside it, smaller, for
// the details (which target, which file).
func backupProblem(msg string) string {
	has := mentionsAny(msg)
	switch {
	case msg == "":
		return ""
	case has("permission denied", "read-only file system"):
		return "The backup folder cannot be written by the user this node runs as."
	case has("no space left", "disk quota"):
		return "The disk holding the backups is full."
	case has("no such file or directory") && has("storing", "listing"):
		return "The backup folder does not exist."
	case has("accessdenied", "access denied", "invalidaccesskeyid", "signaturedoesnotmatch", "403"):
		return "The S3 service refused the credentials (backup.s3.access_key / secret_key) or the bucket's permissions."
	case has("nosuchbucket"):
		return "The S3 bucket does not exist."
	case has("no such host", "connection refused", "timeout", "deadline exceeded"):
		return "The S3 endpoint could not be reached."
	case has("does not check out", "corrupt"):
		return "The backup just taken did not check out, so it was not kept."
	}
	return "The last scheduled backup failed."
}

// timingWarnings names each member whose Raft timing differs from the
// leader's, as `minitwit cluster status` does: different heartbeat or
// election timeouts make the slower members start needless elections, or
// a leader keep its lease longer than the others expect. Members that do
// not report their timing (older versions, unreachable) are left out.
func timingWarnings(ov nodeinfo.Overview) []string {
	want := ""
	for _, n := range ov.Nodes {
		if n.ID == ov.Leader {
			want = n.RaftTiming
		}
	}
	if want == "" {
		return nil
	}
	var out []string
	for _, n := range ov.Nodes {
		if n.Err == "" && n.RaftTiming != "" && n.RaftTiming != want {
			out = append(out, fmt.Sprintf("Node %s's Raft timing (%s) differs from the leader %s's (%s): give every member the same raft.profile and raft.*_timeout.",
				n.ID, n.RaftTiming, ov.Leader, want))
		}
	}
	return out
}
