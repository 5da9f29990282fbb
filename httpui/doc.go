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
// here, on the node that accepted the request, before proposing.
//
// Choices where the specs are silent:
//   - Typed store refusals map to 4xx; any other error of a proposal or a
//     read (no leader, shutting down, timeout) is a retryable 503, never a
//     500 and never a false success.
//   - The /api allow-list refuses before anything else and does not record
//     `latest`: a refused client must change nothing. Authentication
//     failures (403) do record it, as the simulator contract asks.
//   - An empty message (API `content` or UI `text`) records nothing: the API
//     answers 400, the UI redirects without a flash, as the original did.
//   - On POST /api/msgs/{user} and /api/fllws/{user} an unknown user (404)
//     is reported before a bad body (400), as the course's reference does.
//   - HEAD on /{user}/follow|unfollow is refused (405): a safe method must
//     not change state, and Go's GET patterns also match HEAD.
//   - Form errors on /register and /login answer 400 with the form page.
//   - Usernames are URL path segments: '/', control characters, invalid
//     UTF-8, more than 64 bytes and route names (see store.IsReservedName) are
//     refused at registration.
//   - Cross-site and same-site GETs of /{user}/follow|unfollow are refused
//     (a sibling subdomain is not to be trusted either); requests without
//     Sec-Fetch-Site (plain clients, the course's tests) pass.
//   - The admin page answers anonymous visitors with a redirect to /login
//     and signed-in non-admins with 403. Only failed sign-ins to admin
//     accounts are rate limited (per node, in memory): ordinary accounts
//     keep the original's behaviour, which the course's tests rely on.
//   - A one-time password (a new admin's, or one reset by `minitwit admin`)
//     sends its user to /login/password right after signing in, and the
//     admin pages keep sending them there until it is replaced. The page
//     lives under /login because "login" can never be a user name.
//   - The public timeline counts as fresh on the overview when its newest
//     message is under 5 minutes old: the simulator posts every few seconds
//     while it runs.
//   - Sessions are stateless HMAC-signed cookies (30 days) keyed by the
//     replicated session key, so any node accepts them; logout clears the
//     cookie.
package httpui
