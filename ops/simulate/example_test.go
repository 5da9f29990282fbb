package simulate_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"minitwit/ops/simulate"
)

func ExampleParseScenario() {
	scenario := "0\t0\t1582246860738\tregister\tRoger Histand\tRoger+Histand@hotmail.com\tQm\"oZ=.D0\n" +
		"3\t3614448\t1582270042673\ttweet\tRoger Histand\tFrom hour to hour\n"
	actions, err := simulate.ParseScenario(strings.NewReader(scenario))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range actions {
		fmt.Printf("%d %s %q %q %q\n", a.ID, a.Command, a.User, a.Arg, a.Password)
	}
	// Output:
	// 0 register "Roger Histand" "Roger+Histand@hotmail.com" "Qm\"oZ=.D0"
	// 3 tweet "Roger Histand" "From hour to hour" ""
}

func ExampleRun() {
	// A server that knows nobody: every tweet gets a 404.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/register" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()

	actions := []simulate.Action{
		{ID: 0, Command: simulate.CmdRegister, User: "Roger Histand", Arg: "r@h.dk", Password: "pw"},
		{ID: 1, Command: simulate.CmdTweet, User: "Nobody", Arg: "hello"},
	}
	s, err := simulate.Run(context.Background(), actions, simulate.Options{BaseURL: srv.URL + "/api"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Requests, "requests,", s.Errors, "error:", s.ByStatus)
	// Output:
	// 2 requests, 1 error: map[404:1]
}
