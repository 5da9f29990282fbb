// Package simulate owns the replay of the course simulator's scenario against
// any MiniTwit that speaks the simulator API (../shared/spec/simulator-api.md):
// parsing the scenario file, sending each action exactly as the course's
// minitwit_simulator.py does, classifying failures, printing the course's error
// lines, a terminal progress line, and a summary with latency percentiles.
// It depends on the standard library only; `minitwit simulate` is a thin
// command on top of it.
//
// # Requests
//
// Every request is a POST with Authorization: Basic, Content-Type:
// application/json and ?latest=<action id>. The body is built with
// encoding/json and then written the way Python's json.dumps writes it
// (", " and ": " separators, every non-ASCII character as a \uXXXX escape,
// surrogate pairs above U+FFFF): a server then sees the same bytes from us as
// from the course, including the escapes its JSON decoder must undo. Each
// request opens its own TCP connection (keep-alives off, HTTP/1.1 only), as the
// Python simulator's "Connection: close" does, so connection set-up is part of
// every measured latency. The per-request timeout (0.3 s by default) covers the
// whole exchange, connect to last body byte; Python's timeout applies per socket
// operation, so ours is the stricter reading. Redirects are not followed: a
// 301 is reported as the 301 it is, which says more than the error from a POST
// turned into a GET.
//
// An answer is accepted when its status is 204; for register a 400 is accepted
// too (the user exists already), which is the course simulator's own rule.
//
// # Errors
//
// Every failed request is one error of one kind:
//
//   - status: an answer with an unexpected status code;
//   - timeout: no complete answer within the timeout;
//   - connection: the connection failed before an answer came: refused,
//     reset, closed early, DNS or TLS failure, which is everything Python's
//     requests reports as ConnectionError;
//   - other: anything else (a malformed response, for instance).
//
// Each error is printed as one line in the shape minitwit_simulator.py prints
// (checked against its source): UTC time, the base URL as given, the action id,
// then either the status code and the command,
//
//	2026-11-25 12:00:00,http://127.0.0.1:8080/api,1234,500,tweet
//
// or the exception name and no command, as the course omits it there:
//
//	2026-11-25 12:00:00,http://127.0.0.1:8080/api,1234,ReadTimeout
//	2026-11-25 12:00:00,http://127.0.0.1:8080/api,1234,ConnectionError
//
// A timeout before the TCP connection was established is printed as
// ConnectionError, because requests' ConnectTimeout is a ConnectionError and the
// course catches that first; the summary still counts it as a timeout. The
// course prints Python's exception class for anything else; we print
// RequestException, the base class of all of them.
//
// # Several base URLs
//
// Options.BaseURL may name several bases (the nodes of a cluster). Requests
// take them in turn, the way a load balancer spreads them, with one rule a
// load balancer has too: a connection that is refused (nothing was sent) is
// tried on the next base at once, within the same timeout, and the refusing
// base is left out of the rotation for a second. A connection that broke
// after the request went out is an error like any other and is never sent
// again, since the server may have acted on it.
//
// # Outages
//
// The summary groups failed requests into outages, which is how a node lost
// under load shows: an outage starts when a failed request was sent and ends
// with the answer to the first request sent after its last failure that
// succeeded. Its duration is the failover time as a client sees it.
//
// # Concurrency and order
//
// With Concurrency 1 the actions run strictly one after another, like the
// course. With N > 1 the actions between two barriers are split by user
// (FNV-1a hash of the acting user's name modulo N) and each of the N workers
// runs its share in scenario order, so one user's tweets, follows and unfollows
// keep their order. Every register is a barrier: everything before it has
// finished, it runs alone, and only then do later actions start, so no action
// can reach a server before its user (or the user it follows) exists. The
// last action of the run is a barrier too, so the last latest value a server
// records is the last action's id, whatever N is. Actions of different users
// may interleave; the final state does not depend on that, because only a
// follower acts on its own follow pairs.
//
// # Cancellation, progress, summary
//
// Cancelling the context stops the run: no new request starts, requests in
// flight are abandoned and not counted, and Run returns the summary of what
// completed together with the context's error. Options.Progress, when set,
// receives a single redrawn line (carriage return, at most ten times a second);
// callers pass a terminal only (see IsTerminal) so logs and CI stay clean.
// Latencies of all requests, failed ones included, are kept and the
// percentiles use the nearest-rank method, so every reported value is one
// that was measured.
package simulate
