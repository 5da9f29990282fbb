package httpui_test

import (
	"testing"
)

// TestLookAlikeNames: registration, through the API and the form, refuses
// invisible and formatting characters, surrounding spaces, non-NFC forms
// and a case variant of a taken name; e-mail addresses are one line.
func TestLookAlikeNames(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)
	a.register(t, "alice")
	reg := func(name, email string) string {
		return apiJSON(map[string]string{"username": name, "email": email, "pwd": "p"})
	}
	const notAllowed = "That username is not allowed"
	cases := []apiCase{
		{name: "zero-width space", method: "POST", target: "/api/register", body: reg("alice\u200b", "a@x.org"), status: 400, errMsg: notAllowed},
		{name: "rtl override", method: "POST", target: "/api/register", body: reg("\u202eecila", "a@x.org"), status: 400, errMsg: notAllowed},
		{name: "leading space", method: "POST", target: "/api/register", body: reg(" alice", "a@x.org"), status: 400, errMsg: notAllowed},
		{name: "trailing space", method: "POST", target: "/api/register", body: reg("bob ", "a@x.org"), status: 400, errMsg: notAllowed},
		{name: "not NFC", method: "POST", target: "/api/register", body: reg("Ju\u0308rgen", "a@x.org"), status: 400, errMsg: notAllowed},
		{name: "case variant", method: "POST", target: "/api/register", body: reg("Alice", "a@x.org"), status: 400, errMsg: apiMsgNameTaken},
		{name: "reserved", method: "POST", target: "/api/register", body: reg("Admin", "a@x.org"), status: 400, errMsg: notAllowed},
		{name: "email with newline", method: "POST", target: "/api/register", body: reg("carol", "c@x.org\nBcc: d@y"), status: 400, errMsg: apiMsgBadEmail},
		{name: "email with NUL", method: "POST", target: "/api/register", body: reg("carol", "c@x.org\x00"), status: 400, errMsg: apiMsgBadEmail},
		{name: "NFC accepted", method: "POST", target: "/api/register", body: reg("J\u00fcrgen", "j@x.org"), status: 204, delta: apiDelta{users: 1}},
	}
	a.runAll(t, cases)

	s := uiClient(t, "http://"+a.host)
	p := s.post(t, "/register", uiForm("username", "ALICE", "email", "a@x.org", "password", "p", "password2", "p"))
	uiWantContains(t, p, uiErrTaken)
	p = s.post(t, "/register", uiForm("username", "dave\u200d", "email", "a@x.org", "password", "p", "password2", "p"))
	uiWantContains(t, p, notAllowed)
}
