// Package nodeinfo owns the descriptions of a node that its layers pass to
// each other: Status (what /readyz reports), Info (one member as it
// describes itself, also the message a member answers over the cluster
// RPC), Overview (the cluster as the admin page shows it), CA (the
// cluster CA's fingerprints, in the one line `minitwit cluster ca` and the
// admin page both show), BackupInfo and ErrUnknownNode.
//
// It is a leaf of plain data types, so that the node fills them in and the
// HTTP layer (httpui) shows them without either importing the other. Its
// only project imports are ops, for the sampler's ops.Point that Info
// carries as a member's newest sample, and ops/alerting, for the alerts'
// State that Overview carries; neither imports anything of the project.
package nodeinfo
