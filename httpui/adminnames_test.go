package httpui_test

import (
	"context"
	"net/http"
	"testing"

	"minitwit/node/nodetest"
	"minitwit/raftfsm"
)

// TestAdminUserActionsResolveFoldedNames: the admin page's user actions
// (make/revoke admin, sign out everywhere) and the moderation page's
// author filter take a name as `minitwit admin` does: exactly, else the one user whose name differs only in case or
// Unicode form, and the flash names the stored spelling. On a real node,
// where the state machine keeps names unique that way.
func TestAdminUserActionsResolveFoldedNames(t *testing.T) {
	t.Parallel()
	n, base := nodetest.StartDefault(t, web)
	admin := adminSession(t, base)
	jurgen := uiSignup(t, base, "Jürgen")

	p := admin.post(t, "/admin/users/J%C3%9CRGEN/admin", uiForm("admin", "1", "back", "/admin/users"))
	uiWantFlashes(t, p, "Jürgen is now an admin.")
	if u, _ := uiUser(t, n, "Jürgen"); !u.Admin {
		t.Error("JÜRGEN: Jürgen is not an admin")
	}
	uiWantStatus(t, jurgen.getStay(t, "/admin"), http.StatusOK)
	// Decomposed ü (not NFC) folds alike too.
	uiWantFlashes(t, admin.post(t, "/admin/users/ju%CC%88rgen/admin", uiForm("admin", "0")), "Jürgen is no longer an admin.")
	uiWantStatus(t, jurgen.getStay(t, "/admin"), http.StatusForbidden)

	uiWantContains(t, admin.post(t, "/admin/users/j%C3%BCrgen/signout", uiForm("back", "/admin/users")),
		"Every session of Jürgen was signed out.")
	uiWantRedirect(t, jurgen.getStay(t, "/admin"), "/login?next=%2Fadmin")

	// The moderation page's author filter takes names the same way.
	uiPostMessage(t, uiSignup(t, base, "Loud"), "a message by Loud")
	p = admin.get(t, "/admin/messages?user=LOUD")
	uiWantContains(t, p, "a message by Loud")
	uiWantLacks(t, p, "There is no user called")

	uiWantStatus(t, admin.postStay(t, "/admin/users/J%C3%BCrgens/admin", uiForm("admin", "1")), http.StatusNotFound)
	uiWantStatus(t, admin.postStay(t, "/admin/users/ghost/signout", nil), http.StatusNotFound)
}

// TestAdminUserActionsRefuseClashingOldNames: names stored before the
// state machine kept them unique regardless of case may clash ("Pat",
// "pat"); each is still acted on by its exact name, and a third spelling
// is refused with both, changing nothing. Over httpuitest's node, whose
// state machine has not switched the folded check on, so the clash can be
// made as older data has it.
func TestAdminUserActionsRefuseClashingOldNames(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	admin := adminSession(t, base)
	for _, name := range []string{"Pat", "pat"} {
		res, err := n.Propose(context.Background(), &raftfsm.Register{Username: name, Email: name + "@x", PasswordHash: "h"})
		if err != nil || res.Err != nil {
			t.Fatalf("registering %s: %v %v", name, err, res.Err)
		}
	}
	p := admin.postStay(t, "/admin/users/PAT/admin", uiForm("admin", "1"))
	uiWantStatus(t, p, http.StatusConflict)
	uiWantContains(t, p, "could be any of", "Pat", "pat")
	for _, name := range []string{"Pat", "pat"} {
		if u, _ := uiUser(t, n, name); u.Admin {
			t.Errorf("%s made an admin by a refused name", name)
		}
	}
	uiWantContains(t, admin.get(t, "/admin/messages?user=PAT"), "could be any of")
	uiWantFlashes(t, admin.post(t, "/admin/users/pat/admin", uiForm("admin", "1")), "pat is now an admin.")
	if u, _ := uiUser(t, n, "Pat"); u.Admin {
		t.Error("granting pat made Pat an admin")
	}
}
