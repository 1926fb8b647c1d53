// modelplane-probe: one liveness check, run by the Docker engine as a container's health check
// (docs/architecture.md "Probes"). Kubernetes/Azure semantics: after --failures consecutive failed
// checks the container is restarted. Docker health checks only report, so the probe itself counts
// (in a small state file) and, at the threshold, sends SIGTERM to PID 1: the container exits and
// its restart policy (unless-stopped) starts it again.
//
//	modelplane-probe --url http://127.0.0.1:5001/ --timeout 2s --failures 30 --initial-delay 10s
//
// One HTTP GET; 200-399 is a success (resets the counter), anything else a failure (increments it).
// Failures within --initial-delay of PID 1's start are not counted (Docker's start period).
// The state is keyed on PID 1's start time, so a restarted container starts from zero even though
// its filesystem (and the file) survives the restart. When the state file cannot be written
// (read-only root filesystem) /dev/shm is used; when that fails too, the probe says why and exits 1
// (unhealthy, nothing killed). Exit status: 0 healthy, 1 unhealthy. Standard library only.
//
// PID 1 must act on SIGTERM: the kernel drops signals that a namespace's init has no handler for
// when they come from inside the namespace, and SIGKILL cannot be sent to it from inside at all.
// Every image modelplane builds runs tini as PID 1 (the official Triton image runs under the
// engine's init); a bring-your-own container should too. While PID 1 lives on, each further failed
// check sends SIGTERM again. (/proc/1/status cannot tell: tini waits in sigtimedwait, which shows
// SIGTERM neither caught nor blocked.)
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// State is what the probe keeps between runs.
type State struct {
	// Start of the process the count belongs to (PID 1's start time, clock ticks since boot).
	Start uint64
	// Consecutive failures counted so far.
	Failures int
}

// Decision is what one check leads to.
type Decision struct {
	Next State
	// Kill: the threshold is reached, PID 1 gets SIGTERM.
	Kill bool
	// Healthy: exit status 0.
	Healthy bool
}

// Decide is the whole policy: prev is the stored state (zero when none), start PID 1's start time,
// ok the check's result, inDelay whether PID 1 is younger than the initial delay.
func Decide(prev State, start uint64, ok bool, inDelay bool, threshold int) Decision {
	count := prev.Failures
	if prev.Start != start {
		count = 0 // another incarnation of the container: its failures do not carry over
	}
	switch {
	case ok:
		return Decision{Next: State{Start: start}, Healthy: true}
	case inDelay:
		return Decision{Next: State{Start: start, Failures: count}}
	default:
		count++
		return Decision{Next: State{Start: start, Failures: count}, Kill: threshold > 0 && count >= threshold}
	}
}

// ParseState reads "v1 <start> <failures>"; anything else is a zero state.
func ParseState(s string) State {
	f := strings.Fields(s)
	if len(f) != 3 || f[0] != "v1" {
		return State{}
	}
	start, err1 := strconv.ParseUint(f[1], 10, 64)
	n, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || n < 0 {
		return State{}
	}
	return State{Start: start, Failures: n}
}

// FormatState is ParseState's inverse.
func FormatState(s State) string { return fmt.Sprintf("v1 %d %d\n", s.Start, s.Failures) }

// procStart returns a process's start time (clock ticks since boot) and its age.
func procStart(pid int) (uint64, time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22: starttime
	if err != nil {
		return 0, 0, err
	}
	u, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return start, 0, err
	}
	up, err := strconv.ParseFloat(strings.Fields(string(u))[0], 64)
	if err != nil {
		return start, 0, err
	}
	const userHZ = 100 // /proc reports in USER_HZ, 100 on every Linux architecture Docker runs
	age := time.Duration((up - float64(start)/userHZ) * float64(time.Second))
	return start, age, nil
}

func check(url string, timeout time.Duration) (bool, string) {
	client := &http.Client{
		Timeout: timeout,
		// A redirect is an answer: 3xx counts as success without following it (Kubernetes counts 200-399).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "modelplane-probe")
	res, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode >= 200 && res.StatusCode < 400, res.Status
}

// store applies the decision to the first state location that can be written.
func store(paths []string, decide func(State) Decision) (Decision, string, error) {
	var problems []string
	for _, p := range paths {
		prev := State{}
		if b, err := os.ReadFile(p); err == nil {
			prev = ParseState(string(b))
		}
		d := decide(prev)
		tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
		err := os.WriteFile(tmp, []byte(FormatState(d.Next)), 0o600)
		if err == nil {
			err = os.Rename(tmp, p)
		}
		if err == nil {
			return d, p, nil
		}
		_ = os.Remove(tmp)
		problems = append(problems, err.Error())
	}
	return Decision{}, "", fmt.Errorf("cannot keep the failure count: %s", strings.Join(problems, "; "))
}

func main() {
	url := flag.String("url", "", "liveness URL, e.g. http://127.0.0.1:5001/ (required)")
	timeout := flag.Duration("timeout", 2*time.Second, "timeout of the GET")
	failures := flag.Int("failures", 30, "consecutive failures that restart the container (failure_threshold)")
	initialDelay := flag.Duration("initial-delay", 0, "failures this soon after PID 1 started are not counted (initial_delay)")
	statePath := flag.String("state", "/tmp/.modelplane-liveness", "file keeping the failure count")
	pid := flag.Int("pid", 1, "process to send SIGTERM to")
	flag.Parse()
	if *url == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: modelplane-probe --url URL [--timeout 2s] [--failures 30] [--initial-delay 0s] [--state FILE]")
		os.Exit(2)
	}

	start, age, err := procStart(*pid)
	if err != nil {
		fmt.Printf("cannot read PID %d's start time (%v); counting anyway\n", *pid, err)
	}
	ok, what := check(*url, *timeout)
	inDelay := err == nil && age < *initialDelay
	paths := []string{*statePath, filepath.Join("/dev/shm", filepath.Base(*statePath))}
	d, _, err := store(paths, func(prev State) Decision { return Decide(prev, start, ok, inDelay, *failures) })
	if err != nil {
		fmt.Printf("liveness GET %s: %s; %v\n", *url, what, err)
		os.Exit(1)
	}
	switch {
	case d.Healthy:
		fmt.Printf("liveness GET %s: %s\n", *url, what)
		os.Exit(0)
	case inDelay:
		fmt.Printf("liveness GET %s: %s (not counted: within the initial delay of %s)\n", *url, what, *initialDelay)
		os.Exit(1)
	case !d.Kill:
		fmt.Printf("liveness GET %s: %s (failure %d of %d)\n", *url, what, d.Next.Failures, *failures)
		os.Exit(1)
	}
	fmt.Printf("liveness GET %s: %s (failure %d of %d): restarting the container (SIGTERM to PID %d)\n", *url, what, d.Next.Failures, *failures, *pid)
	if err := syscall.Kill(*pid, syscall.SIGTERM); err != nil {
		fmt.Printf("SIGTERM to PID %d failed: %v\n", *pid, err)
	}
	os.Exit(1)
}
