package auth_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"minitwit/httpui/auth"
)

func TestTOTPVerify(t *testing.T) {
	t.Parallel()
	key, err := auth.NewTOTPKey("MiniTwit", "operator")
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	if !auth.ValidTOTPSecret(secret) || auth.ValidTOTPSecret(secret[:10]) || auth.ValidTOTPSecret(secret+"!") {
		t.Fatalf("ValidTOTPSecret misjudges %q", secret)
	}
	u, err := url.Parse(key.URL())
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != secret || u.Query().Get("issuer") != "MiniTwit" {
		t.Fatalf("otpauth URI %q", key.URL())
	}
	again, err := auth.TOTPKey("MiniTwit", "operator", secret)
	if err != nil || again.URL() != key.URL() {
		t.Fatalf("the key of the same secret: %v %v, want %s", again, err, key.URL())
	}
	now := time.Unix(1_800_000_015, 0)
	step := auth.TOTPStep(now)
	code := func(d time.Duration) string {
		c, err := auth.TOTPCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name     string
		code     string
		after    uint64
		wantStep uint64
		want     error
	}{
		{"current", code(0), 0, step, nil},
		{"with spaces", code(0)[:3] + " " + code(0)[3:], 0, step, nil},
		{"one step late", code(-auth.TOTPPeriod), 0, step - 1, nil},
		{"one step early", code(auth.TOTPPeriod), 0, step + 1, nil},
		{"two steps late", code(-2 * auth.TOTPPeriod), 0, 0, auth.ErrWrongCode},
		{"used step", code(0), step, 0, auth.ErrCodeReused},
		{"earlier than the used step", code(-auth.TOTPPeriod), step, 0, auth.ErrCodeReused},
		{"next step after a used one", code(auth.TOTPPeriod), step, step + 1, nil},
		{"not digits", "12a456", 0, 0, auth.ErrWrongCode},
		{"too short", code(0)[:5], 0, 0, auth.ErrWrongCode},
		{"empty", "", 0, 0, auth.ErrWrongCode},
	}
	for _, c := range cases {
		got, err := auth.VerifyTOTP(secret, c.code, now, c.after)
		if err != c.want || got != c.wantStep {
			t.Errorf("%s: step %d, %v; want %d, %v", c.name, got, err, c.wantStep, c.want)
		}
	}
	other, _ := auth.NewTOTPKey("MiniTwit", "operator")
	if _, err := auth.VerifyTOTP(other.Secret(), code(0), now, 0); err == nil && other.Secret() != secret {
		t.Error("another secret's code was accepted")
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes, hashes := auth.NewRecoveryCodes()
	if len(codes) != auth.RecoveryCodeCount || len(hashes) != len(codes) {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if seen[c] || len(c) != 19 || !auth.IsRecoveryCode(c) {
			t.Errorf("code %q repeated or malformed", c)
		}
		seen[c] = true
		if hashes[i] != auth.HashRecoveryCode(c) || strings.Contains(hashes[i], strings.ReplaceAll(c, "-", "")) {
			t.Errorf("hash of %q: %q", c, hashes[i])
		}
		// Typed without dashes, in capitals, with spaces: the same code.
		typed := " " + strings.ToUpper(strings.ReplaceAll(c, "-", " ")) + " "
		if !auth.IsRecoveryCode(typed) || auth.HashRecoveryCode(typed) != hashes[i] {
			t.Errorf("%q typed as %q is not recognised", c, typed)
		}
	}
	for _, s := range []string{"123456", "", "abcd-efgh", "operator"} {
		if auth.IsRecoveryCode(s) {
			t.Errorf("%q taken for a recovery code", s)
		}
	}
}
