package httpui

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Signing in returns to the page that asked for it: a page that needs a
// signed-in user sends the visitor to /login?next=PAGE, the form carries
// next along, and a successful sign-in redirects there. next comes from the
// address bar, so anyone can craft it: only a path of this site is
// followed, never another site ("//evil", "https://evil", "/\evil"), and
// never the sign-in pages themselves.

// loginThenBack is the sign-in page's address that returns to r's page
// afterwards (for a GET; a form post has no page to return to).
func loginThenBack(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "/login"
	}
	next := safeNext(r.URL.RequestURI())
	if next == "" || next == "/" {
		return "/login"
	}
	return "/login?" + url.Values{"next": {next}}.Encode()
}

// safeNext returns next, cleaned, when it is a path of this site to go to
// after signing in, and "" otherwise.
func safeNext(next string) string {
	// A second slash or a backslash makes browsers read a host name
	// ("//evil", "/\evil"); control characters have no place in a path.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\") || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	// http.Redirect cleans the path too: judge the cleaned one.
	clean := path.Clean(u.Path)
	if strings.HasPrefix(clean, "//") || clean == "/login" || strings.HasPrefix(clean, "/login/") ||
		clean == "/logout" || clean == "/register" {
		return ""
	}
	u.Path, u.RawPath, u.Fragment = clean, "", ""
	return u.RequestURI()
}
