package httpui_test

import (
	"net/http"
	"strings"
	"testing"
)

// An unknown user is reported before a bad body, as the course's reference
// server does, and the request still records `latest`.
func TestAPIUnknownUserBeforeBadBody(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	for i, path := range []string{"/api/msgs/nobody?latest=7", "/api/fllws/nobody?latest=8"} {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader("{not json"))
		req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s with a bad body: %d, want 404", path, resp.StatusCode)
		}
		resp, err = http.Get(base + "/api/latest")
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		body.Write(buf[:n])
		resp.Body.Close()
		if want := []string{`{"latest":7}`, `{"latest":8}`}[i]; strings.TrimSpace(body.String()) != want {
			t.Errorf("after POST %s: /api/latest = %s, want %s", path, body.String(), want)
		}
	}
}
