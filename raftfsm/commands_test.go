package raftfsm_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"minitwit/raftfsm"
	"minitwit/store"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range script() {
		got, err := raftfsm.Decode(raftfsm.Encode(c))
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %T: got %+v, want %+v", c, got, c)
		}
	}
	neg := &raftfsm.SetLatest{Latest: raftfsm.LatestOf(-1 << 62)}
	if got, _ := raftfsm.Decode(raftfsm.Encode(neg)); !reflect.DeepEqual(got, neg) {
		t.Errorf("negative latest: %+v", got)
	}
}

// TestEncodingIsStable pins one encoding of every kind. Log entries and
// snapshots written by earlier binaries are read by later ones, so a kind's
// bytes never change; a new kind adds a line here.
func TestEncodingIsStable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cmd raftfsm.Command
		hex string
	}{
		{&raftfsm.Register{Username: "Roger Histand", Email: "r@h", PasswordHash: "$argon2id$x", Latest: raftfsm.LatestOf(1)},
			"01010d526f6765722048697374616e64037240680b246172676f6e32696424780102"},
		{&raftfsm.Register{Username: "Ünï", Email: "u@n", PasswordHash: "h", Latest: raftfsm.LatestOf(2)}, "010105c39c6ec3af0375406e01680104"},
		{&raftfsm.PostMessage{Author: "nobody", Text: "x", PubDate: 1, Latest: raftfsm.LatestOf(5)}, "0102066e6f626f6479017802010a"},
		{&raftfsm.Follow{Who: "Ünï", Whom: "Ünï", Latest: raftfsm.LatestOf(8)}, "010305c39c6ec3af05c39c6ec3af0110"},
		{&raftfsm.Unfollow{Who: "Roger Histand", Whom: "Ünï", Latest: raftfsm.LatestOf(9)}, "01040d526f6765722048697374616e6405c39c6ec3af0112"},
		{&raftfsm.SetLatest{Latest: raftfsm.LatestOf(10)}, "01050114"},
		{&raftfsm.FlagMessage{MessageID: 2, Flagged: true}, "01060201"},
		{&raftfsm.InitSecrets{SessionKey: bytes.Repeat([]byte{7}, 32)}, "010720" + strings.Repeat("07", 32) + "000000"},
		{&raftfsm.Batch{Entries: [][]byte{raftfsm.Encode(&raftfsm.SetLatest{Latest: raftfsm.LatestOf(5)})}}, "010801040105010a"},
		{&raftfsm.Tagged{ID: raftfsm.RequestID{7}, Cmd: raftfsm.Encode(&raftfsm.Follow{Who: "a", Whom: "b"})},
			"0209070000000000000000000000000000000701030161016200"},
		{&raftfsm.CertPut{Key: "certificates/acme/x/x.crt", Value: []byte("PEM"), Modified: 5},
			"020a196365727469666963617465732f61636d652f782f782e6372740350454d0a"},
		{&raftfsm.CertDelete{Key: "certificates/acme/x"}, "020b136365727469666963617465732f61636d652f78"},
		{&raftfsm.CertLock{Name: "issue_cert_x", Owner: "node1/a", Now: 100, Expires: 200}, "020c0c69737375655f636572745f78076e6f6465312f61c8019003"},
		{&raftfsm.CertUnlock{Name: "issue_cert_x", Owner: "node1/a"}, "020d0c69737375655f636572745f78076e6f6465312f61"},
		{&raftfsm.ImportMessages{Messages: []raftfsm.ImportedMessage{{LegacyID: 7, Author: "Ünï", Text: "from the course db", PubDate: 1500000000}}},
			"020e010705c39c6ec3af1266726f6d2074686520636f7572736520646280bcc1960b00"},
		{&raftfsm.Rehash{User: "Ünï", Old: "h", New: "$argon2id$new"}, "020f05c39c6ec3af01680d246172676f6e326964246e6577"},
		{&raftfsm.SetAdmin{User: "a", Admin: true}, "0310016101"},
		{&raftfsm.SetPassword{User: "a", Hash: "h", Temporary: true, Old: "o"}, "03110161016801016f"},
		{&raftfsm.CreateAdmin{Username: "a", Email: "e", PasswordHash: "h", FirstOnly: true, Temporary: true}, "03120161016501680101"},
		{&raftfsm.EndSessions{User: "a"}, "04130161"},
		{&raftfsm.TOTPEnroll{User: "a", Secret: "S", Step: 3, RecoveryHashes: []string{"h"}}, "05140161015303010168"},
		{&raftfsm.TOTPUse{User: "a", Step: 3, RecoveryHash: "h"}, "05150161030168"},
		{&raftfsm.TOTPReset{User: "a"}, "05160161"},
		{&raftfsm.FoldNames{}, "0519"},
		{&raftfsm.RevokeNode{ID: "n", Before: 1}, "0517016e02"},
		{&raftfsm.RotateJoinToken{Token: []byte("t")}, "051a0174"},
		{&raftfsm.Audit{Time: 1, Node: "n", User: "u", Via: "v", Action: "a", Target: "t", Cmd: []byte{1}}, "051b02016e01750176016101740101"},
		{&raftfsm.RotateCA{Step: raftfsm.CAStepSwitch, Cert: []byte("c"), Key: []byte("k")}, "051c020163016b"},
	}
	seen := map[raftfsm.Kind]bool{}
	for _, c := range cases {
		seen[c.cmd.Kind()] = true
		if got := hex.EncodeToString(raftfsm.Encode(c.cmd)); got != c.hex {
			t.Errorf("%T encodes as\n %s, was\n %s", c.cmd, got, c.hex)
		}
	}
	for k := raftfsm.KindRegister; k < 255; k++ {
		if raftfsm.NewForKind(k) == nil {
			continue // a kind number not (yet) used by this binary
		}
		if !seen[k] {
			t.Errorf("kind %d has no pinned encoding", k)
		}
	}
}

// TestOlderBinaryStopsOnAdminCommands: the admin kinds are format 3, so a
// binary that reads up to format 2 refuses them as newer (and the FSM stops
// the node) instead of misreading them, while it still reads every older
// kind as written today.
func TestOlderBinaryStopsOnAdminCommands(t *testing.T) {
	t.Parallel()
	for _, c := range script() {
		_, err := raftfsm.DecodeUpTo(raftfsm.Encode(c), 2)
		if c.Kind() >= raftfsm.KindSetAdmin {
			if !errors.Is(err, raftfsm.ErrNewerFormat) {
				t.Errorf("%T read by a format-2 binary: %v, want ErrNewerFormat", c, err)
			}
		} else if err != nil {
			t.Errorf("%T read by a format-2 binary: %v", c, err)
		}
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	t.Parallel()
	good := raftfsm.Encode(&raftfsm.Follow{Who: "a", Whom: "b", Latest: raftfsm.LatestOf(3)})
	cases := map[string]struct {
		data []byte
		want error
	}{
		"empty":         {nil, raftfsm.ErrMalformed},
		"one byte":      {[]byte{1}, raftfsm.ErrMalformed},
		"unknown kind":  {[]byte{1, 200}, raftfsm.ErrMalformed},
		"truncated":     {good[:len(good)-1], raftfsm.ErrMalformed},
		"trailing data": {append(append([]byte{}, good...), 0), raftfsm.ErrMalformed},
		"newer format":  {append([]byte{raftfsm.FormatVersion + 1}, good[1:]...), raftfsm.ErrNewerFormat},
		"huge length":   {[]byte{1, byte(raftfsm.KindFollow), 0xff, 0xff, 0xff, 0xff, 0x0f}, raftfsm.ErrMalformed},
		"bad bool":      {[]byte{3, byte(raftfsm.KindSetAdmin), 1, 'a', 2}, raftfsm.ErrMalformed},
		"admin cut":     {[]byte{3, byte(raftfsm.KindCreateAdmin), 1, 'a', 1, 'e', 1, 'h', 1}, raftfsm.ErrMalformed},
	}
	for name, c := range cases {
		if _, err := raftfsm.Decode(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range script() {
		f.Add(raftfsm.Encode(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := raftfsm.Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		again, err := raftfsm.Decode(raftfsm.Encode(c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %+v: %+v, %v", c, again, err)
		}
	})
}

func TestResultRoundTripKeepsTheRefusal(t *testing.T) {
	t.Parallel()
	for _, want := range []error{store.ErrUnknownUser, store.ErrNameTaken, store.ErrFollowSelf,
		store.ErrUnknownMessage, fmt.Errorf("%w: message too long", store.ErrInvalid), raftfsm.ErrMalformed,
		store.ErrLastAdmin, store.ErrAdminExists, nil} {
		b, err := raftfsm.EncodeResult(raftfsm.Result{ID: 7, Err: want})
		if err != nil {
			t.Fatal(err)
		}
		got, err := raftfsm.DecodeResult(b)
		if err != nil || got.ID != 7 {
			t.Fatalf("%v: %+v %v", want, got, err)
		}
		if want == nil {
			if got.Err != nil {
				t.Errorf("nil error became %v", got.Err)
			}
			continue
		}
		if !errors.Is(got.Err, errors.Unwrap(want)) && !errors.Is(got.Err, want) || got.Err.Error() != want.Error() {
			t.Errorf("round trip of %v gave %v", want, got.Err)
		}
	}
	if _, err := raftfsm.EncodeResult(raftfsm.Result{Err: errors.New("disk on fire")}); err == nil {
		t.Error("a failure that is not a refusal must not be encoded as one")
	}
	if raftfsm.IsRefusal(errors.New("disk on fire")) {
		t.Error("an I/O failure counted as a refusal")
	}
	for _, e := range []error{store.ErrLastAdmin, store.ErrAdminExists} {
		if !raftfsm.IsRefusal(fmt.Errorf("wrapped: %w", e)) {
			t.Errorf("%v is not a refusal", e)
		}
	}
}
