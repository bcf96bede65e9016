//go:build unix

package hostos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests use sleep instead of a JVM: what matters is the process
// plumbing, and sleep starts in milliseconds.

// childScript records its pid in the file named by $1, then becomes sleep.
const childScript = `echo $$ > "$1"; exec sleep 300`

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err) || !procMounted()
	}
	// Format: pid (comm) state ...
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

func waitDead(tb testing.TB, pid int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			tb.Fatalf("child %d still alive 10s after its parent went", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readPid(tb testing.TB, file string) int {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(file)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			tb.Fatalf("child wrote no pid to %s", file)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spawners are the ways this package ties a child to its parent; start is
// the one used on this OS.
var spawners = map[string]func(*exec.Cmd) (*Child, error){
	"start":    start,
	"watchdog": startWatchdog,
}

// TestHelperSpawnAndExit is not a test: run by TestChildDiesWithParent as a
// separate process, it spawns a child and exits without stopping it.
func TestHelperSpawnAndExit(t *testing.T) {
	mode, pidFile := os.Getenv("HOSTOS_HELPER_MODE"), os.Getenv("HOSTOS_HELPER_PIDFILE")
	if mode == "" {
		t.Skip("helper process only")
	}
	if _, err := spawners[mode](exec.Command("/bin/sh", "-c", childScript, "sh", pidFile)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	readPid(t, pidFile)
	os.Exit(0) // no cleanup, as when a test binary ends
}

func TestChildDiesWithParent(t *testing.T) {
	// The shared DynamoDB Local of the tests is never stopped: it must die
	// with the test binary, or every `go test` would leak a JVM.
	for mode := range spawners {
		t.Run(mode, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSpawnAndExit$")
			cmd.Env = append(os.Environ(), "HOSTOS_HELPER_MODE="+mode, "HOSTOS_HELPER_PIDFILE="+pidFile)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			waitDead(t, readPid(t, pidFile))
		})
	}
}

func TestStopChild(t *testing.T) {
	// terminate must end the child promptly in both variants.
	for mode, spawnFn := range spawners {
		t.Run(mode, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			p, err := spawnFn(exec.Command("/bin/sh", "-c", childScript, "sh", pidFile))
			if err != nil {
				t.Fatal(err)
			}
			pid := readPid(t, pidFile)
			if err := p.Terminate(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Done():
			case <-time.After(10 * time.Second):
				p.Kill()
				t.Fatal("child ignored terminate for 10s")
			}
			waitDead(t, pid)
		})
	}
}
