package run

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Chromium's processes are found through /proc by the user data directory
// every one of them is started with (--user-data-dir=<dir>): a directory made
// for one browser names exactly that browser's processes.

// procSampler reads the processes of one browser.
type procSampler struct {
	dir   string
	mu    sync.Mutex
	ticks map[int]uint64 // CPU time (user+system) last seen per process, in clock ticks
}

// clockTicks is USER_HZ, 100 on Linux for every architecture Go supports.
const clockTicks = 100

// browserPIDs lists the processes started with --user-data-dir=dir.
// Chromium's helpers rewrite their command line into one string with
// spaces, so the flag ends at a NUL, a space or the end.
func browserPIDs(dir string) []int {
	want := []byte("--user-data-dir=" + dir)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !hasFlag(cmd, want) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

func hasFlag(cmd, flag []byte) bool {
	for i := bytes.Index(cmd, flag); i >= 0; {
		end := i + len(flag)
		if end == len(cmd) || cmd[end] == 0 || cmd[end] == ' ' {
			return true
		}
		j := bytes.Index(cmd[end:], flag)
		if j < 0 {
			return false
		}
		i = end + j
	}
	return false
}

// sample returns the browser's processes and their memory: the sum of their
// proportional set sizes (PSS: each shared page counted once across them),
// or of their resident sizes where PSS cannot be read.
func (s *procSampler) sample() (pids []int, rss int64) {
	pids = browserPIDs(s.dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ticks == nil {
		s.ticks = map[int]uint64{}
	}
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may
		// hold spaces: state is field 3, utime 14, stime 15, rss 24 (pages).
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 22 {
			continue
		}
		ut, _ := strconv.ParseUint(f[11], 10, 64)
		st, _ := strconv.ParseUint(f[12], 10, 64)
		pages, _ := strconv.ParseInt(f[21], 10, 64)
		s.ticks[pid] = max(s.ticks[pid], ut+st)
		if pss, ok := pssBytes(pid); ok {
			rss += pss
		} else {
			rss += pages * int64(os.Getpagesize())
		}
	}
	return pids, rss
}

// pssBytes reads a process's proportional set size.
func pssBytes(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// cpuSeconds is the CPU time of every process seen so far.
func (s *procSampler) cpuSeconds() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t uint64
	for _, v := range s.ticks {
		t += v
	}
	return float64(t) / clockTicks
}

// killLeftovers kills what is left of a browser until no process of it has
// been seen for a few passes (a helper can fork as its parent dies).
func killLeftovers(dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pids := browserPIDs(dir)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Alive reports whether the process pid exists and is not a zombie: the test
// checks with it that no Chromium survives the load generator.
func Alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
