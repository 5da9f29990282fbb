package httpui

import "net/http"

// Files browsers and crawlers ask for by name. Without their own routes
// they would reach "GET /{username}" and log as a missing user's
// timeline.

// favicon is the site's icon, SVG served at the conventional path
// (browsers that ask for /favicon.ico take an SVG body by its type).
const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
	`<rect width="32" height="32" rx="6" fill="#1a6fa8"/>` +
	`<path d="M7 23V9h3.2l5.8 8 5.8-8H25v14h-3.2v-8.6L16 22l-5.8-7.6V23z" fill="#fff"/></svg>`

// robots lets crawlers read the public pages and keeps them off the
// admin pages, the API and the forms. "$" ends a path (Google's and Bing's
// extension; others read it as a literal and match nothing): a plain
// "Disallow: /admin" would also hide the timeline of a user "adminton".
const robots = `User-agent: *
Disallow: /admin$
Disallow: /admin/
Disallow: /api/
Disallow: /login$
Disallow: /login/
Disallow: /logout$
Disallow: /register$
Disallow: /metrics$
`

func (s *Server) wellKnownRoutes() {
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write([]byte(favicon))
	})
	s.mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write([]byte(robots))
	})
}
