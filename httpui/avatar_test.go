package httpui_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"minitwit/node/config"
)

// TestAvatars: by default a timeline's avatars are identicons the node
// serves (SVG, cacheable, the same for the same address, different for
// another); with ui.gravatar they link to gravatar.com.
func TestAvatars(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	hash := func(email string) string {
		sum := sha256.Sum256([]byte(email))
		return hex.EncodeToString(sum[:16])
	}
	a, b := hash("ann@example.com"), hash("bob@example.com")
	resp, svgA := get("/static/avatar/" + a)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=31536000") {
		t.Fatalf("avatar: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if err := xml.Unmarshal([]byte(svgA), new(struct{})); err != nil || !strings.HasPrefix(svgA, "<svg") {
		t.Errorf("not an SVG document (%v): %.80q", err, svgA)
	}
	if _, again := get("/static/avatar/" + a); again != svgA {
		t.Error("the same hash drew a different picture")
	}
	if _, svgB := get("/static/avatar/" + b); svgB == svgA {
		t.Error("two addresses drew the same picture")
	}
	for _, bad := range []string{a[:31], a + "0", strings.ToUpper(a), "zz" + a[2:], "x"} {
		if resp, _ := get("/static/avatar/" + bad); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/static/avatar/%s: %d, want 404", bad, resp.StatusCode)
		}
	}

	// ui.gravatar = true: gravatar.com's URL for the same address.
	_, gbase := fake(t, func(cfg *config.Config) { cfg.UI = config.UIConfig{Gravatar: true} })
	s := uiClient(t, gbase)
	uiRegister(t, s, "ann", " Ann@Example.com", "ann-password")
	uiLogin(t, s, "ann", "ann-password")
	uiPostMessage(t, s, "hello")
	sum := md5.Sum([]byte("ann@example.com"))
	p := s.get(t, "/public")
	uiWantContains(t, p, `<img src="https://www.gravatar.com/avatar/`+hex.EncodeToString(sum[:])+`?d=identicon&amp;s=48"`)
	if strings.Contains(p.Body, "/static/avatar/") {
		t.Error("ui.gravatar still shows local avatars")
	}
}
