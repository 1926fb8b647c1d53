package main

import "testing"

func TestDecide(t *testing.T) {
	cases := []struct {
		name    string
		prev    State
		ok      bool
		inDelay bool
		want    Decision
	}{
		{"success resets", State{Start: 7, Failures: 2}, true, false, Decision{Next: State{Start: 7}, Healthy: true}},
		{"failure counts", State{Start: 7, Failures: 1}, false, false, Decision{Next: State{Start: 7, Failures: 2}}},
		{"threshold kills", State{Start: 7, Failures: 2}, false, false, Decision{Next: State{Start: 7, Failures: 3}, Kill: true}},
		{"beyond threshold kills again", State{Start: 7, Failures: 5}, false, false, Decision{Next: State{Start: 7, Failures: 6}, Kill: true}},
		{"new incarnation starts from zero", State{Start: 6, Failures: 3}, false, false, Decision{Next: State{Start: 7, Failures: 1}}},
		{"initial delay does not count", State{Start: 7, Failures: 1}, false, true, Decision{Next: State{Start: 7, Failures: 1}}},
		{"success in initial delay is healthy", State{}, true, true, Decision{Next: State{Start: 7}, Healthy: true}},
	}
	for _, c := range cases {
		if got := Decide(c.prev, 7, c.ok, c.inDelay, 3); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestState(t *testing.T) {
	s := State{Start: 123456, Failures: 4}
	if got := ParseState(FormatState(s)); got != s {
		t.Errorf("round trip: got %+v", got)
	}
	for _, bad := range []string{"", "garbage", "v1 1", "v2 1 2", "v1 x 2", "v1 1 -3"} {
		if got := ParseState(bad); got != (State{}) {
			t.Errorf("ParseState(%q) = %+v, want zero", bad, got)
		}
	}
}
