package simulate

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseScenario(t *testing.T) {
	t.Parallel()
	in := "\uFEFF" + strings.Join([]string{
		"0\t0\t1582246860738\tregister\tRoger Histand\tRoger+Histand@hotmail.com\tQm\"oZ=.D0",
		"1\t13700323\t1582260561061\ttweet\tRoger Histand\tHe said \"hi\", “quoted” \\ done",
		"",
		"2\t5\t1582260561062\tfollow\tRoger Histand\tZoë Ångström\r",
		"3\t5\t1582260561063\tunfollow\tRoger Histand\tZoë Ångström",
	}, "\n") + "\n"
	got, err := ParseScenario(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Action{
		{ID: 0, Command: CmdRegister, User: "Roger Histand", Arg: "Roger+Histand@hotmail.com", Password: `Qm"oZ=.D0`},
		{ID: 1, Command: CmdTweet, User: "Roger Histand", Arg: `He said "hi", “quoted” \ done`},
		{ID: 2, Command: CmdFollow, User: "Roger Histand", Arg: "Zoë Ångström"},
		{ID: 3, Command: CmdUnfollow, User: "Roger Histand", Arg: "Zoë Ångström"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseScenarioMalformed(t *testing.T) {
	t.Parallel()
	good := "0\t0\t1\ttweet\tA\ttext\n"
	tests := []struct {
		name, line, reason string
	}{
		{"too few fields", "1\t0\t1\ttweet\tA", "fields"},
		{"register without password", "1\t0\t1\tregister\tA\ta@b.c", "want 7"},
		{"tweet with extra field", "1\t0\t1\ttweet\tA\ttext\tmore", "want 6"},
		{"id not a number", "x\t0\t1\ttweet\tA\ttext", "id"},
		{"negative id", "-1\t0\t1\ttweet\tA\ttext", "id"},
		{"delay not a number", "1\tsoon\t1\ttweet\tA\ttext", "delay"},
		{"unknown command", "1\t0\t1\tretweet\tA\ttext", "unknown command"},
		{"empty user", "1\t0\t1\ttweet\t\ttext", "user"},
		{"invalid UTF-8", "1\t0\t1\ttweet\tA\t\xff", "UTF-8"},
		{"quoted line is not special", "\"1\t0\t1\ttweet\tA\ttext\"", "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseScenario(strings.NewReader(good + good + tc.line + "\n" + good))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if pe.Line != 3 || !strings.Contains(pe.Reason, tc.reason) {
				t.Errorf("got line %d %q, want line 3 mentioning %q", pe.Line, pe.Reason, tc.reason)
			}
			if !strings.Contains(err.Error(), "line 3") {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

// TestParseRealScenario parses the course's scenario when it is at hand. On
// CI (CI=true) it must be.
func TestParseRealScenario(t *testing.T) {
	t.Parallel()
	path := os.Getenv("MINITWIT_SCENARIO")
	if path == "" {
		path = filepath.Join("..", "..", "..", "shared", "data", "minitwit_scenario.csv")
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("scenario %s is missing; on CI it must be present", path)
		}
		t.Skipf("scenario %s is absent; set MINITWIT_SCENARIO to its path to run this test", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	actions, err := ParseScenario(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 25922 {
		t.Errorf("%d actions, want 25922", len(actions))
	}
	counts := map[string]int{}
	for _, a := range actions {
		counts[a.Command]++
	}
	want := map[string]int{CmdRegister: 200, CmdTweet: 11306, CmdFollow: 9751, CmdUnfollow: 4665}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	if last := actions[len(actions)-1].ID; last != 25921 {
		t.Errorf("last id %d, want 25921", last)
	}
}
