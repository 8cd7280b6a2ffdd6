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
func browserPIDs(dir string) []int {
	want := []byte("--user-data-dir=" + dir + "\x00")
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
		if err != nil || !bytes.Contains(append(cmd, 0), want) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// sample returns the browser's processes and their summed resident memory.
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
		rss += pages * int64(os.Getpagesize())
	}
	return pids, rss
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
