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
//     member keeps the last one. A new leader starts from it: an alert
//     already fired and delivered is not fired again, one still pending
//     keeps its start, and an undelivered notice (firing, or resolve) is
//     sent by the new evaluator. A notice delivered after the last hand-
//     over may be sent again (at least once around a leader change, never
//     lost while some member holds the state). A new leader that never
//     received a state (every other member died with the old one) starts
//     afresh and fires again what still holds.
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
