package chhttp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/go-faster/city"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func FuzzScanStatement(f *testing.F) {
	for _, s := range []string{
		"SELECT 1",
		"SELECT 1 FORMAT JSON",
		"select format from t",
		"SELECT format FROM t FORMAT JSONEachRow SETTINGS max_threads = 1",
		"INSERT INTO t FORMAT Native\n\x00\x01\x02",
		"INSERT INTO t (a, b) FORMAT CSV\r\n1,2\n",
		"INSERT INTO `format` FORMAT TSV 1\t2",
		"INSERT INTO t SETTINGS async_insert=1 FORMAT JSONEachRow {\"a\":1}",
		"INSERT INTO t VALUES (1, 'FORMAT x')",
		"SELECT 'it''s' /* FORMAT /* nested */ JSON */ -- FORMAT x\n FORMAT CSV;",
		"SELECT $tag$ FORMAT JSON $tag$, $$ $$ FORMAT TSV",
		"# comment\nSELECT 1",
		"#!shebang\nSELECT `a\\`b` FORMAT JSON",
		"WITH 1 AS format SELECT format FORMAT CSV",
		"SELECT 'unterminated",
		"SELECT /* unterminated",
		"SELECT $x$ unterminated",
		"INSERT INTO t FORMAT",
		"SET max_threads = 1",
		"CREATE TEMPORARY TABLE t (a UInt8)",
		"(SELECT 1) FORMAT JSON",
		"SELECT \"FORMAT\" FORMAT \"JSON\"",
		"SELECT 1 INTO OUTFILE 'x' FORMAT CSV",
		"SELECT 1; SELECT 2",
		"SELECT 1; -- end\n;",
		"INSERT INTO outfile VALUES (1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st := scanStatement(sql)
		require.GreaterOrEqual(t, st.formatAt, -1)
		require.Less(t, st.formatAt, len(sql)+1)
		require.GreaterOrEqual(t, st.dataAt, -1)
		require.LessOrEqual(t, st.dataAt, len(sql))
		require.LessOrEqual(t, len(st.words), leadingWords)
		if st.formatAt >= 0 {
			require.LessOrEqual(t, st.formatAt+len("FORMAT"), len(sql))
			require.True(t, strings.EqualFold(sql[st.formatAt:st.formatAt+len("FORMAT")], "FORMAT"), "%q at %d", sql, st.formatAt)
			require.NotEmpty(t, st.format)
			require.Contains(t, sql[st.formatAt:], st.format)
		} else {
			require.Empty(t, st.format)
		}
		require.GreaterOrEqual(t, st.end, 0)
		require.LessOrEqual(t, st.end, len(sql))
		if st.end < len(sql) {
			require.Equal(t, byte(';'), sql[st.end])
			require.Equal(t, !onlyBlanks(sql[st.end+1:]), st.more)
		} else {
			require.False(t, st.more)
		}
		if st.formatAt >= 0 && st.dataAt < 0 {
			require.Less(t, st.formatAt, st.end)
		}
		if st.outfile {
			require.Contains(t, strings.ToUpper(sql), "OUTFILE")
			require.False(t, st.redirectable())
		}
		if st.dataAt >= 0 {
			require.Equal(t, "INSERT", st.keyword)
			require.GreaterOrEqual(t, st.formatAt, 0)
			require.GreaterOrEqual(t, st.dataAt, st.formatAt+len("FORMAT")+1+len(st.format))
			// The data never begins inside the format name.
			require.Contains(t, sql[st.formatAt:st.dataAt], st.format)
		}
	})
}

func FuzzBlockReader(f *testing.F) {
	for _, m := range []compress.Method{compress.LZ4, compress.ZSTD, compress.None} {
		w := compress.NewWriter(compress.LevelZero, m)
		require.NoError(f, w.Compress([]byte("hello, hello, hello compressed world")))
		one := append([]byte(nil), w.Data...)
		f.Add(one)
		f.Add(append(append([]byte(nil), one...), one...))
		f.Add(one[:len(one)-3])
		f.Add(one[:20])
	}
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	// Made once: a zstd writer costs far more than a fuzz input. The fuzz
	// function runs one input at a time in each process.
	writers := map[compress.Method]*compress.Writer{}
	for _, m := range []compress.Method{compress.LZ4, compress.ZSTD, compress.None} {
		writers[m] = compress.NewWriter(compress.LevelZero, m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Arbitrary bytes: an error is a decodeError or the limit, never a panic.
		got, err := io.ReadAll(newBlockReader(bytes.NewReader(data), 4<<20))
		if err != nil {
			assert.True(t, isDecodeError(err) || errors.Is(err, errBodyTooLarge), "%T: %v", err, err)
		}
		assert.LessOrEqual(t, len(got), 4<<20)

		// The same bytes as a payload, in every method: they round-trip.
		for m, w := range writers {
			require.NoError(t, w.Compress(data))
			framed := append(append([]byte(nil), w.Data...), w.Data...)
			out, err := io.ReadAll(newBlockReader(bytes.NewReader(framed), 1<<30))
			require.NoError(t, err, m)
			require.Equal(t, string(data)+string(data), string(out), m)
		}
	})
}

// A compressed block of a few bytes must not cost more memory than its
// content: a zstd frame announces its window, and a streaming decoder would
// allocate all of it.
func TestBlockReaderZstdWindow(t *testing.T) {
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3, 0x09, 0x00, 0x00, 'x'} // 128 MiB window, 1 raw byte
	raw := []byte{blockMethodZSTD}
	raw = binary.LittleEndian.AppendUint32(raw, uint32(blockHeaderSize+len(frame)))
	raw = binary.LittleEndian.AppendUint32(raw, 1)
	raw = append(raw, frame...)
	sum := city.CH128(raw)
	block := binary.LittleEndian.AppendUint64(nil, sum.Low)
	block = binary.LittleEndian.AppendUint64(block, sum.High)
	block = append(block, raw...)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, err := io.ReadAll(newBlockReader(bytes.NewReader(block), 1<<30))
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, "x", string(out))
	// Half the window: other goroutines of the process allocate too.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20))

	// The same frame as a zstd Content-Encoding is refused: its window is
	// beyond what a body may announce.
	r, err := decodeContentEncoding("zstd", bytes.NewReader(frame))
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	assert.True(t, isDecodeError(err), "%v", err)
}
