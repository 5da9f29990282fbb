package auth_test

import (
	"strings"
	"testing"

	"minitwit/httpui/auth"
	"minitwit/store"
)

// TestUsernameRulesAgree: the configuration checks admin.username with
// auth.CheckUsername, the store checks every write with
// store.ValidateUsername; a name one accepts and the other refuses would
// make a node that starts but cannot create its first admin.
func TestUsernameRulesAgree(t *testing.T) {
	t.Parallel()
	names := []string{
		"", ".", "..", "...", "root", "Roger Histand", "a/b", "a\x00b", "tab\there", "\x7f",
		"\xff\xfe", "ü-über", "日本語", ":colon", strings.Repeat("x", store.MaxUsernameBytes),
		strings.Repeat("x", store.MaxUsernameBytes+1), strings.Repeat("ü", store.MaxUsernameBytes/2),
		strings.Repeat("ü", store.MaxUsernameBytes/2+1), "admin", "Admin",
	}
	for _, name := range names {
		got, want := auth.CheckUsername(name), store.ValidateUsername(name)
		if (got == nil) != (want == nil) {
			t.Errorf("%q: auth.CheckUsername %v, store.ValidateUsername %v", name, got, want)
		}
		if got != nil && want != nil && !strings.HasSuffix(want.Error(), got.Error()) {
			t.Errorf("%q: messages differ: %q and %q", name, got, want)
		}
	}
}

func TestReservedNames(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"admin": true, "Admin": true, "LOGIN": true, ".well-known": true, "root": false, "admins": false} {
		if got := auth.IsReservedName(name); got != want {
			t.Errorf("IsReservedName(%q) = %t, want %t", name, got, want)
		}
	}
}
