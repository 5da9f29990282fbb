// Package httpui owns everything HTTP on a node's public listener: the web
// UI (server-rendered with html/template, static files embedded), the
// simulator API under /api, the health, version and metrics endpoints, and
// the middleware around them (request ids, one log line per request,
// metrics, the /api client allow-list, browser cross-origin protection).
//
// It talks to the node through three small interfaces: a Reader that hands
// out the local store once it reflects every acknowledged write (reads never
// touch Raft), a Proposer that sends a command through Raft and returns its
// result, and a StatusReporter for /readyz. Everything a command needs that
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
//   - Sessions are stateless HMAC-signed cookies (30 days) keyed by the
//     replicated session key, so any node accepts them; logout clears the
//     cookie.
package httpui
