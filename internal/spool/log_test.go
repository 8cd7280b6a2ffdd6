package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func open(t *testing.T, dir string, mod func(*Options)) *Log {
	t.Helper()
	o := Options{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 4096}
	if mod != nil {
		mod(&o)
	}
	l, err := Open(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func readAll(t *testing.T, l *Log, from uint64) []Record {
	t.Helper()
	r := l.NewReader(from)
	defer r.Close()
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, rec)
	}
}

func TestAppendReadAcrossSegmentsAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, nil)
	for i := range 100 {
		rec, err := l.Append(KindData, fmt.Appendf(nil, "record %d %0200d", i, i))
		require.NoError(t, err)
		assert.Equal(t, uint64(i), rec.Seq)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	assert.Greater(t, len(segs), 3, "4 KiB segments hold a few records each")

	got := readAll(t, l, 0)
	require.Len(t, got, 100)
	for i, rec := range got {
		assert.Equal(t, fmt.Sprintf("record %d %0200d", i, i), string(rec.Data))
		if i > 0 {
			assert.GreaterOrEqual(t, rec.Time, got[i-1].Time)
		}
	}
	// A reader may start anywhere.
	assert.Equal(t, uint64(57), readAll(t, l, 57)[0].Seq)

	require.NoError(t, l.Close())
	l2 := open(t, dir, nil)
	assert.Equal(t, uint64(100), l2.Next())
	rec, err := l2.Append(KindData, []byte("after restart"))
	require.NoError(t, err)
	assert.Equal(t, uint64(100), rec.Seq)
	all := readAll(t, l2, 90)
	require.Len(t, all, 11)
	assert.Equal(t, "after restart", string(all[10].Data))
}

// A crash in the middle of a write leaves part of a record at the end of
// the last segment: Open cuts it off, and the log goes on from the last
// whole record.
func TestOpenCutsATornTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, func(o *Options) { o.SegmentBytes = 1 << 20 })
	for i := range 5 {
		_, err := l.Append(KindData, fmt.Appendf(nil, "r%d", i))
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Len(t, segs, 1)
	whole, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	for _, cut := range []int{1, headerSize - 1, headerSize + 1} {
		torn := append(append([]byte(nil), whole...), appendRecord(nil, Record{Seq: 5, Kind: KindData, Data: []byte("torn record")})[:cut]...)
		require.NoError(t, os.WriteFile(segs[0], torn, 0o600))
		l2 := open(t, dir, nil)
		assert.Equal(t, uint64(5), l2.Next(), "cut %d", cut)
		_, err := l2.Append(KindData, []byte("r5"))
		require.NoError(t, err)
		got := readAll(t, l2, 0)
		require.Len(t, got, 6)
		assert.Equal(t, "r5", string(got[5].Data))
		require.NoError(t, l2.Close())
		require.NoError(t, os.WriteFile(segs[0], whole, 0o600))
	}
}

func TestBoundsRefuseAndRecover(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	free := int64(1 << 30)
	l := open(t, t.TempDir(), func(o *Options) {
		o.MaxBytes = 10 * (headerSize + 100)
		o.MinFreeBytes = 1000
		o.FreeSpace = func(string) (int64, error) { mu.Lock(); defer mu.Unlock(); return free, nil }
	})
	payload := make([]byte, 100)
	for range 10 {
		_, err := l.Append(KindData, payload)
		require.NoError(t, err)
	}
	_, err := l.Append(KindData, payload)
	var full *FullError
	require.ErrorAs(t, err, &full)
	assert.False(t, full.Disk)
	assert.Contains(t, err.Error(), "max_bytes")
	// A tick is not data: it goes in regardless.
	_, err = l.Append(KindTick, nil)
	require.NoError(t, err)

	_, err = l.Append(KindData, make([]byte, 20*(headerSize+100)))
	require.ErrorIs(t, err, ErrTooLarge)

	// Room comes back when the readers are done with the records.
	require.NoError(t, l.Trim(l.Next()))
	assert.Zero(t, l.Bytes(), "every segment went")
	_, err = l.Append(KindData, payload)
	require.NoError(t, err)

	mu.Lock()
	free = 1100
	mu.Unlock()
	time.Sleep(150 * time.Millisecond) // the free space is read every 100 ms
	_, err = l.Append(KindData, payload)
	require.ErrorAs(t, err, &full)
	assert.True(t, full.Disk)
	assert.Contains(t, err.Error(), "min_free_bytes")
	mu.Lock()
	free = 1 << 30
	mu.Unlock()
	time.Sleep(150 * time.Millisecond)
	_, err = l.Append(KindData, payload)
	require.NoError(t, err)
}

func TestTrimKeepsWhatReadersNeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, nil)
	for range 60 {
		_, err := l.Append(KindData, make([]byte, 300))
		require.NoError(t, err)
	}
	before := l.Bytes()
	require.NoError(t, l.Trim(30))
	assert.Less(t, l.Bytes(), before)
	got := readAll(t, l, 30)
	require.Len(t, got, 30)
	assert.Equal(t, uint64(30), got[0].Seq)
	// A reader asking for trimmed records starts at the oldest kept.
	old := readAll(t, l, 0)
	assert.LessOrEqual(t, old[0].Seq, uint64(30))
	assert.Equal(t, uint64(59), old[len(old)-1].Seq)
}

func TestReaderReportsDamage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, nil)
	for i := range 30 {
		_, err := l.Append(KindData, fmt.Appendf(nil, "%0300d", i))
		require.NoError(t, err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Greater(t, len(segs), 2)
	b, err := os.ReadFile(segs[1])
	require.NoError(t, err)
	b[headerSize+5] ^= 0xff // the first record's payload
	require.NoError(t, os.WriteFile(segs[1], b, 0o600))

	r := l.NewReader(0)
	defer r.Close()
	var seqs []uint64
	damaged := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			damaged++
			assert.Equal(t, segs[1], ce.Path)
			assert.Len(t, ce.Bytes, len(b), "the rest of the segment, to be set aside")
			r.Skip(ce)
			continue
		}
		require.NoError(t, err)
		seqs = append(seqs, rec.Seq)
	}
	assert.Equal(t, 1, damaged)
	assert.Less(t, len(seqs), 30)
	assert.Equal(t, uint64(29), seqs[len(seqs)-1], "reading goes on in the next segment")
}

func TestStateSurvivesReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, func(o *Options) { o.Sync = true })
	st, err := l.LoadState("c")
	require.NoError(t, err)
	assert.Nil(t, st)
	require.NoError(t, l.SaveState("c", []byte(`{"next":3}`)))
	require.NoError(t, l.SaveState("c", []byte(`{"next":4}`)))
	require.NoError(t, l.Close())
	l2 := open(t, dir, nil)
	st, err = l2.LoadState("c")
	require.NoError(t, err)
	assert.JSONEq(t, `{"next":4}`, string(st))
}

func TestConcurrentAppendsWithSync(t *testing.T) {
	t.Parallel()
	l := open(t, t.TempDir(), func(o *Options) { o.Sync = true; o.SegmentBytes = 1 << 20 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				_, err := l.Append(KindData, fmt.Appendf(nil, "g%d-%d", g, i))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	got := readAll(t, l, 0)
	require.Len(t, got, 400)
	seen := map[string]bool{}
	for i, rec := range got {
		assert.Equal(t, uint64(i), rec.Seq)
		seen[string(rec.Data)] = true
	}
	assert.Len(t, seen, 400)
}

// On a disk that is really full the write itself fails (ENOSPC): the
// append is refused as a full disk, the partial record is cut off, and once
// there is room again appends succeed and the log reads back whole. Needs
// root to mount a small tmpfs (CI runs as root).
func TestAWriteTheDiskRefusesIsUndone(t *testing.T) {
	t.Parallel()
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a tmpfs for a really full disk (needs root; CI runs as root): %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	l := open(t, filepath.Join(mnt, "spool"), func(o *Options) {
		o.SegmentBytes = 64 << 20
		// Believe there is room: the disk must be the one to say no.
		o.FreeSpace = func(string) (int64, error) { return 1 << 40, nil }
	})
	payload := make([]byte, 100<<10)
	var full *FullError
	var err error
	n := 0
	for ; n < 100; n++ {
		if _, err = l.Append(KindData, payload); err != nil {
			break
		}
	}
	require.ErrorAs(t, err, &full)
	assert.True(t, full.Disk)
	require.ErrorIs(t, err, unix.ENOSPC)
	assert.Greater(t, n, 5)
	segs, _ := filepath.Glob(filepath.Join(mnt, "spool", "*.seg"))
	require.Len(t, segs, 1)
	st, err := os.Stat(segs[0])
	require.NoError(t, err)
	assert.Equal(t, int64(n*(headerSize+len(payload))), st.Size(), "no partial record is left")

	require.NoError(t, l.Trim(l.Next())) // the readers are done: room again
	_, err = l.Append(KindData, []byte("after"))
	require.NoError(t, err)
	got := readAll(t, l, 0)
	require.Len(t, got, 1)
	assert.Equal(t, "after", string(got[0].Data))
}
