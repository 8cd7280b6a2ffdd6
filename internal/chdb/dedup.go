package chdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ClickHouse remembers the deduplication tokens of the last inserts into a
// non-replicated MergeTree table in a log beside its parts
// (deduplication_logs/deduplication_log_N.txt, records "1\t<part>\t<block
// id>" to add, "2\t..." to drop), and writes a token's record before it
// commits the insert's part. A process killed between the two leaves a token
// whose part never became active: the insert, sent again under the same
// token after the restart, would be dropped as a duplicate and its data
// lost. The embedded engine dies with the collector, so before it opens,
// RepairDeduplicationLogs drops (with a record of ClickHouse's own kind) the
// tokens whose part is on disk under no active part's name.
//
// It returns how many tokens it dropped.
func RepairDeduplicationLogs(dataPath string) (int, error) {
	store := filepath.Join(dataPath, "store")
	var dirs []string
	err := filepath.WalkDir(store, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() && d.Name() == "deduplication_logs" {
			dirs = append(dirs, path)
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("look for deduplication logs under %s: %w", store, err)
	}
	dropped := 0
	for _, dir := range dirs {
		n, err := repairLog(dir)
		if err != nil {
			return dropped, fmt.Errorf("repair the deduplication log %s: %w", dir, err)
		}
		dropped += n
	}
	return dropped, nil
}

// partName is a part directory's name: partition, block range, level and
// an optional mutation version.
var partName = regexp.MustCompile(`^(.+)_([0-9]+)_([0-9]+)_([0-9]+)(_[0-9]+)?$`)

type blockRange struct{ min, max uint64 }

func parsePart(name string) (partition string, r blockRange, ok bool) {
	m := partName.FindStringSubmatch(name)
	if m == nil {
		return "", blockRange{}, false
	}
	lo, err1 := strconv.ParseUint(m[2], 10, 64)
	hi, err2 := strconv.ParseUint(m[3], 10, 64)
	if err1 != nil || err2 != nil {
		return "", blockRange{}, false
	}
	return m[1], blockRange{lo, hi}, true
}

func repairLog(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	type logFile struct {
		n    int
		path string
	}
	var logs []logFile
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "deduplication_log_") || !strings.HasSuffix(name, ".txt") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "deduplication_log_"), ".txt"))
		if err != nil {
			continue
		}
		logs = append(logs, logFile{n, filepath.Join(dir, name)})
	}
	if len(logs) == 0 {
		return 0, nil
	}
	sort.Slice(logs, func(i, j int) bool { return logs[i].n < logs[j].n })

	// Replay the records as ClickHouse does: the block ids still standing
	// and the part each names.
	live := map[string]string{}
	var order []string
	for _, l := range logs {
		b, err := os.ReadFile(l.path)
		if err != nil {
			return 0, err
		}
		if l == logs[len(logs)-1] {
			// A record torn by the kill would make ClickHouse stop reading
			// the log there, and our records after it unreadable: cut it.
			if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
				if err := os.Truncate(l.path, int64(i+1)); err != nil {
					return 0, err
				}
				b = b[:i+1]
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 3 {
				continue
			}
			switch f[0] {
			case "1":
				if _, ok := live[f[2]]; !ok {
					order = append(order, f[2])
				}
				live[f[2]] = f[1]
			case "2":
				delete(live, f[2])
			}
		}
		if err := sc.Err(); err != nil {
			return 0, err
		}
	}
	if len(live) == 0 {
		return 0, nil
	}

	// The parts on disk under their own names (not tmp_*, not detached):
	// active ones, and merged-away ones not yet removed. A token's part is
	// there if one of them covers its block.
	table := filepath.Dir(dir)
	parts, err := os.ReadDir(table)
	if err != nil {
		return 0, err
	}
	have := map[string][]blockRange{}
	for _, p := range parts {
		if !p.IsDir() || strings.HasPrefix(p.Name(), "tmp") || p.Name() == "detached" {
			continue
		}
		if partition, r, ok := parsePart(p.Name()); ok {
			have[partition] = append(have[partition], r)
		}
	}
	var drops bytes.Buffer
	n := 0
	for _, id := range order {
		part, ok := live[id]
		if !ok {
			continue
		}
		partition, r, ok := parsePart(part)
		if !ok {
			continue
		}
		covered := false
		for _, h := range have[partition] {
			if h.min <= r.min && r.max <= h.max {
				covered = true
				break
			}
		}
		if !covered {
			fmt.Fprintf(&drops, "2\t%s\t%s\n", part, id)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	f, err := os.OpenFile(logs[len(logs)-1].path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(drops.Bytes()); err != nil {
		_ = f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return 0, err
	}
	return n, f.Close()
}
