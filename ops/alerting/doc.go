// Package alerting owns the alerts a node evaluates itself, for teams
// without Prometheus: the rules of deploy/alerts.yml with the same names,
// conditions and hold times (Rules), the state of each alert (pending,
// firing, resolved), and the webhook that receives firing and resolve
// notices (generic JSON, or a Slack/Discord-compatible {"text": ...}).
// It imports nothing of MiniTwit: the node supplies the observations
// (Alerter.Observe) and wires it in (node/alerts.go).
//
// Choices:
//   - One evaluator: the Raft leader, so each alert goes out once. While
//     there is no leader, the answering member with the lowest id among
//     those that know none evaluates, so "no leader" can be sent at all;
//     in a partition each side without a leader may send it once.
//   - Hand-over: the evaluator sends its state (alerts with whether their
//     notices arrived, and the history) with every observation, and every
//     member keeps the newest one (State.Seq: each evaluation and each
//     delivery makes a newer state, so a push that arrives late, or a new
//     leader's push of an older copy, replaces nothing). A member answers
//     a push older than what it holds with its own state. A new evaluator
//     starts from the newest state among its own and those the members
//     answered its first observation with, before it sends or evaluates
//     anything: leadership that moves right after a notice was delivered
//     (before the next push), or an election that a follower with an old
//     copy wins, finds the record at the old leader, or at any member that
//     holds it, and does not send the notice again. From that state an
//     alert already fired and delivered is not fired again, one still
//     pending keeps its start, and an undelivered notice (firing, or
//     resolve) is sent by the new evaluator.
//     At least once, never lost: a notice is sent again only when the
//     record of its delivery reached no member that answers the new
//     evaluator (the old one died, or did not answer within the facts
//     timeout, right after the delivery; or the delivery completed while
//     leadership moved). A new leader that never received a state (every
//     other member died with the old one) starts afresh and fires again
//     what still holds. Not through Raft: a log entry per evaluation is
//     not worth it, and the answer of the members is as fresh as the log.
//   - What a rule cannot know (a member that did not answer, a rate with
//     fewer than two samples, free space sampled over less than 30 min)
//     leaves its alert as it is rather than resolving it: a new evaluator,
//     whose windows start empty, does not resolve the simulator-error or
//     disk alerts it took over.
//   - The webhook never blocks the node: notices wait in a bounded queue
//     (the oldest dropped when full), one in flight at a time, in order;
//     failures back off exponentially from 1 s to 5 min; a receiver's
//     refusal (4xx but 408/429) drops the notice. An evaluator that steps
//     down drops its queue (the next one sends what is undelivered).
//   - Without a webhook the alerts are still evaluated and shown on the
//     admin page and logged (WARN when firing).
package alerting
