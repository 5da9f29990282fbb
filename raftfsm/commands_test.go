package raftfsm_test

import (
	"errors"
	"fmt"
	"reflect"
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
		store.ErrUnknownMessage, fmt.Errorf("%w: message too long", store.ErrInvalid), raftfsm.ErrMalformed, nil} {
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
}
