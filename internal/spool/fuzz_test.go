package spool

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Whatever bytes a segment holds (a damaged disk, a torn write), opening
// the log and reading it never panics, and every record read is whole: its
// checksum held and its sequence number is the one expected.
func FuzzSegment(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("not a segment"))
	var good []byte
	for i := range 3 {
		good = appendRecord(good, Record{Seq: uint64(i), Time: int64(i), Kind: KindData, Data: []byte("record")})
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000000000.seg"), data, 0o600))
		l, err := Open(Options{Dir: dir, MaxBytes: 1 << 30})
		if err != nil {
			return
		}
		defer l.Close()
		r := l.NewReader(0)
		defer r.Close()
		want := uint64(0)
		for range 1000 {
			rec, err := r.Next()
			var ce *CorruptError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &ce):
				r.Skip(ce)
				want = r.Seq()
				continue
			case err != nil:
				return
			}
			require.Equal(t, want, rec.Seq)
			want++
		}
	})
}
