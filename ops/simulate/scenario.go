package simulate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The scenario's commands.
const (
	CmdRegister = "register"
	CmdTweet    = "tweet"
	CmdFollow   = "follow"
	CmdUnfollow = "unfollow"
)

// Commands lists the commands in the order summaries print them.
func Commands() []string {
	return []string{CmdRegister, CmdTweet, CmdFollow, CmdUnfollow}
}

// Action is one line of the scenario.
type Action struct {
	// ID is sent as ?latest=ID.
	ID int
	// Command is one of CmdRegister, CmdTweet, CmdFollow, CmdUnfollow.
	Command string
	// User is the acting user: the one registered, tweeting or following.
	User string
	// Arg is the email (register), the text (tweet) or the other user
	// (follow, unfollow).
	Arg string
	// Password is set for register only.
	Password string
}

// ParseError is a scenario line that cannot be replayed.
type ParseError struct {
	Line   int // 1-based
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("scenario line %d: %s", e.Line, e.Reason)
}

// maxLine bounds one scenario line; the longest real one is a few hundred
// bytes, so anything near this is not a scenario.
const maxLine = 1 << 20

// ParseScenario reads a scenario: tab-separated lines of id, delay, timestamp,
// command, user, argument and, for register, the password. There is no
// quoting: a " is a literal character, as in the course's csv reader with
// quotechar=None. The delay and timestamp are checked for shape but not used,
// since a replay goes as fast as the server answers. Empty lines are skipped;
// any other line that is not a valid action is a *ParseError naming it, where
// the course would print a traceback and go on: a replay of a damaged file
// would not prove what it claims to.
func ParseScenario(r io.Reader) ([]Action, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	var actions []Action
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" {
			continue
		}
		a, err := parseLine(line)
		if err != nil {
			return nil, &ParseError{Line: n, Reason: err.Error()}
		}
		actions = append(actions, a)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{Line: n + 1, Reason: fmt.Sprintf("longer than %d bytes", maxLine)}
		}
		return nil, fmt.Errorf("reading scenario after line %d: %w", n, err)
	}
	return actions, nil
}

func parseLine(line string) (Action, error) {
	if !utf8.ValidString(line) {
		return Action{}, errors.New("not valid UTF-8")
	}
	f := strings.Split(line, "\t")
	if len(f) < 6 {
		return Action{}, fmt.Errorf("%d tab-separated fields, want 6 (7 for register)", len(f))
	}
	id, err := strconv.Atoi(f[0])
	if err != nil || id < 0 {
		return Action{}, fmt.Errorf("id %q is not a non-negative integer", f[0])
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return Action{}, fmt.Errorf("delay %q is not an integer", f[1])
	}
	a := Action{ID: id, Command: f[3], User: f[4], Arg: f[5]}
	want := 6
	switch a.Command {
	case CmdRegister:
		want = 7
	case CmdTweet, CmdFollow, CmdUnfollow:
	default:
		return Action{}, fmt.Errorf("unknown command %q", a.Command)
	}
	if len(f) != want {
		return Action{}, fmt.Errorf("%s has %d tab-separated fields, want %d", a.Command, len(f), want)
	}
	if a.Command == CmdRegister {
		a.Password = f[6]
	}
	if a.User == "" {
		return Action{}, errors.New("empty user name")
	}
	return a, nil
}
