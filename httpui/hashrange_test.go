package httpui_test

import (
	"context"
	"net/http"
	"testing"

	"minitwit/raftfsm"
)

// TestLoginCraftedHashNotComputed: a user whose stored hash (brought in by
// an import) asks for a gigabyte of scrypt or 256 MiB of argon2id cannot
// make a login compute it: the answer is a wrong password's, given without
// hashing (the unit test in httpui/auth shows the refusal comes at once).
func TestLoginCraftedHashNotComputed(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	crafted := map[string]string{
		"scryptbomb": "scrypt:1048576:8:1$salt$" + "3895f8a6879212f867cd666578c134626fd074fca65d24de06d7b6e68d503a4d",
		"argonbomb":  "$argon2id$v=19$m=262144,t=16,p=255$c29tZXNhbHRzb21lc2FsdA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	}
	for name, hash := range crafted {
		res, err := n.Propose(context.Background(), &raftfsm.Register{Username: name, Email: name + "@example.com", PasswordHash: hash})
		if err != nil || res.Err != nil {
			t.Fatalf("register %s: %v %v", name, err, res.Err)
		}
	}
	for name := range crafted {
		s := uiClient(t, base)
		p := s.postStay(t, "/login", uiForm("username", name, "password", "anything"))
		uiWantStatus(t, p, http.StatusBadRequest)
		uiWantContains(t, p, uiErrBadPass)
	}
}
