// Package httpui owns everything HTTP on a node's public listener: the web
// UI (server-rendered with html/template, static files embedded), the
// simulator API under /api, the admin page under /admin (admin.go: overview,
// charts drawn by ops.Chart, logs with a live tail, moderation, users), the
// health, version and metrics endpoints, and the middleware around them (request ids, one log line per request,
// metrics, the /api client allow-list, browser cross-origin protection).
//
// It talks to the node through three small interfaces: a Reader that hands
// out the local store once it reflects every acknowledged write (reads never
// touch Raft), a Proposer that sends a command through Raft and returns its
// result, and a StatusReporter for /readyz; the admin page adds an
// AdminBackend for what only the node knows (its members, their samples
// and logs), and Operations for the remote admin endpoints. Node gathers
// them with the node's configuration, logger and metrics: *node.Node
// implements it, and cmd/minitwit hands ForNode's handler to the node,
// which never imports this package. Everything a command needs that
// is not deterministic (timestamps, argon2id password hashes) is computed
// here, on the node that accepted the request, before proposing. The
// handler tests run it over httpuitest's Node, which applies proposals
// through the state machine to a temporary store without Raft.
//
// Choices where the specs are silent:
//   - A write (API POSTs, the UI's and admin page's state-changing routes)
//     runs to its end once it is read, detached from the client's
//     connection under its own deadline (RequestTimeout): a client that
//     gives up does not lose it, and `latest` goes with it. A request whose
//     client left is logged with status 499 and client_gone, never as the
//     node's failure. Reads still stop when their client leaves.
//   - Every answer carries the browser hardening headers (securityHeaders
//     in server.go): a CSP with no inline script or style, images only from
//     Gravatar, no framing; nosniff, Referrer-Policy same-origin and a
//     Permissions-Policy. HSTS is the node's, under TLS.
//   - Typed store refusals map to 4xx; any other error of a proposal or a
//     read (no leader, shutting down, timeout) is a retryable 503, never a
//     500 and never a false success.
//   - The /api allow-list refuses before anything else and does not record
//     `latest`: a refused client must change nothing. Only requests with
//     the simulator's credentials record `latest` (the reference records it
//     before checking them; we do not). POST /api/register needs no
//     credentials, but without them and from outside
//     simulator.accepted_ips it is rate limited per source (sourcelimit.go).
//   - An empty message (API `content` or UI `text`) records nothing: the API
//     answers 400, the UI redirects without a flash, as the original did.
//   - On POST /api/msgs/{user} and /api/fllws/{user} an unknown user (404)
//     is reported before a bad body (400), as the course's reference does.
//   - HEAD on /{user}/follow|unfollow is refused (405): a safe method must
//     not change state, and Go's GET patterns also match HEAD.
//   - Form errors on /register and /login answer 400 with the form page.
//   - Usernames are URL path segments: '/', control characters, invalid
//     UTF-8, more than 64 bytes and route names (see store.IsReservedName) are
//     refused at registration, and so are look-alikes
//     (store.ValidateNewUsername: not NFC, zero-width, bidi and other format
//     characters, spaces other than U+0020 or at either end) and a name
//     equal to a taken one regardless of case. E-mail addresses are one
//     line without control characters. These rules hold new names only:
//     the state machine's own check is unchanged, so stored names keep
//     working.
//   - Cross-site and same-site GETs of /{user}/follow|unfollow are refused
//     (a sibling subdomain is not to be trusted either). Every
//     state-changing route of a signed-in user (follow, unfollow, posting,
//     sign-out, password change, admin actions; GET or POST) also needs the
//     session's SameSite=Strict companion cookie, which browsers never send
//     on a cross-site request, Sec-Fetch-Site or not; a cookie jar (the
//     course's tests) sends it and passes. A valid session without one
//     (made before it existed) is given one on its next page.
//   - The admin page answers anonymous visitors with a redirect to
//     /login?next=PAGE, and a successful sign-in returns to PAGE when it
//     is a path of this site (next.go); signed-in non-admins get 403, and
//     every error page shows the menu of whoever is signed in. Failed sign-ins are rate limited
//     per node, in memory (loginlimit.go): admin accounts strictly, others
//     with a budget the course's tests never reach (loginpolicy.go). An
//     unknown name is checked against a dummy argon2id hash, so it costs
//     what a known one does; the log keeps a short hash of a name typed at
//     a failed sign-in, never the text.
//   - A one-time password (a new admin's, or one reset by `minitwit admin`)
//     sends its user to /login/password right after signing in, and the
//     admin pages keep sending them there until it is replaced. The page
//     lives under /login because "login" can never be a user name.
//   - Admins may add a second factor (totp.go): TOTP enrolled at
//     /admin/2fa, asked for at /login/2fa after a correct password, which
//     until then gives only a short-lived signed pending cookie, no
//     session. Codes are checked here (httpui/auth); their time steps and
//     the spent recovery codes are replicated (raftfsm.TOTPUse), so a code
//     is good once on every node. admin.require_2fa sends an admin without
//     one to enroll before any other admin page.
//   - The public timeline counts as fresh on the overview when its newest
//     message is under 5 minutes old: the simulator posts every few seconds
//     while it runs.
//   - Sessions are HMAC-signed cookies (30 days) keyed by the replicated
//     session key, so any node accepts them. Each carries the user's
//     session generation (replicated; raftfsm.EndSessions bumps it) and a
//     tag of the password hash: sign-out and an admin's "Sign out
//     everywhere" end every copy of every session of the user on every
//     node, a password change every session but the changer's. An admin's
//     session also ends after 30 idle minutes or 12 hours. Over HTTPS (TLS
//     here, or X-Forwarded-Proto from a trusted proxy) cookies are Secure
//     and named with the __Host- prefix.
package httpui
