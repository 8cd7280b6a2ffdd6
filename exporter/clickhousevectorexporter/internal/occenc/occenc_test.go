package occenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleRows(n int) []Row {
	vecs := [][]float32{{0.6, 0.8, 0}, {0, -1, 0}}
	replaces := []uint64{7, 1 << 63, 9}
	rows := make([]Row, n)
	base := time.Date(2026, 11, 27, 21, 0, 0, 123456789, time.UTC)
	for i := range rows {
		rows[i] = Row{
			TS:       base.Add(time.Duration(i) * time.Millisecond),
			TraceID:  fmt.Sprintf("%032x", i/3),
			SpanID:   fmt.Sprintf("%016x", i),
			Severity: "ERROR",
			Service:  []string{"inventory", "payment"}[i%2],
			Body:     fmt.Sprintf("dial tcp 10.0.0.%d:5432: connect: connection refused ü", i),
			Template: "dial tcp <IP>:<PORT>: connect: connection refused ü",
			Model:    "hash-v3-384",
			Hash:     uint64(i%2 + 1),
			Vec:      vecs[i%2],
		}
		if i%2 == 1 {
			rows[i].Replaces, rows[i].ReplacedAt = replaces, base.Add(time.Second)
		}
	}
	return rows
}

func TestRoundTrip(t *testing.T) {
	rows := sampleRows(50)
	b := Append(nil, rows, []byte("trailer"))
	got, trailer, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, rows, got)
	assert.Equal(t, "trailer", string(trailer))
	// Repeated strings and vectors are stored once.
	naive := 0
	for _, r := range rows {
		naive += 16 + len(r.TraceID) + len(r.SpanID) + len(r.Severity) + len(r.Service) + len(r.Body) + len(r.Template) + len(r.Model) + 4*len(r.Vec)
	}
	assert.Less(t, len(b), naive*2/3, "%d bytes against %d written row by row", len(b), naive)
	assert.Same(t, &got[0].Vec[0], &got[2].Vec[0], "a template's rows share its vector")
	assert.Same(t, &got[1].Replaces[0], &got[3].Replaces[0], "a template's rows share its re-pointing")

	empty, trailer, err := Decode(Append(nil, nil, nil))
	require.NoError(t, err)
	assert.Empty(t, empty)
	assert.Empty(t, trailer)
}

// A damaged queue file must give an error, never a panic or rows made up.
func TestDecodeRejectsDamagedInput(t *testing.T) {
	b := Append(nil, sampleRows(12), []byte{1, 2, 3})
	for n := range len(b) {
		_, _, err := Decode(b[:n])
		require.Error(t, err, "truncated to %d of %d bytes", n, len(b))
	}
	_, _, err := Decode(append(b, 0))
	assert.ErrorContains(t, err, "after their end")
	_, _, err = Decode(append([]byte{4}, b[1:]...))
	assert.ErrorContains(t, err, "version 4; this build reads 1 to 3")
	// A string index past the table.
	bad := Append(nil, []Row{{Body: "x"}}, nil)
	bad[1+1+16] = 5
	_, _, err = Decode(bad)
	assert.ErrorIs(t, err, ErrDamaged)
	bad = appendV1(nil, []Row{{Body: "x"}}, nil)
	bad[1+1+16] = 5
	_, _, err = Decode(bad)
	assert.ErrorIs(t, err, ErrDamaged)
}

// Queues written by builds of versions 1 and 2 are read after an upgrade;
// version 2 is version 3 without the re-pointings.
func TestDecodeVersion2(t *testing.T) {
	rows := sampleRows(20)
	for i := range rows {
		rows[i].Replaces, rows[i].ReplacedAt = nil, time.Time{}
	}
	b := Append(nil, rows, []byte("t"))
	require.Equal(t, []byte{0, 1, 't'}, b[len(b)-3:], "no re-pointings, then the trailer")
	v2 := append([]byte{2}, b[1:len(b)-3]...)
	v2 = append(v2, 1, 't')
	got, trailer, err := Decode(v2)
	require.NoError(t, err)
	assert.Equal(t, rows, got)
	assert.Equal(t, "t", string(trailer))
}

func TestDecodeVersion1(t *testing.T) {
	rows := sampleRows(20)
	for i := range rows {
		rows[i].Replaces, rows[i].ReplacedAt = nil, time.Time{}
	}
	got, trailer, err := Decode(appendV1(nil, rows, []byte("t")))
	require.NoError(t, err)
	assert.Equal(t, rows, got)
	assert.Equal(t, "t", string(trailer))
}

// appendV1 is version 1's encoder: every string, ids included, indexed into
// the string table.
func appendV1(b []byte, rows []Row, trailer []byte) []byte {
	strs := map[string]uint64{}
	var table []string
	index := func(s string) uint64 {
		i, ok := strs[s]
		if !ok {
			i = uint64(len(table))
			strs[s] = i
			table = append(table, s)
		}
		return i
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(rows)))
	vecs := map[uint64][]float32{}
	for i := range rows {
		o := &rows[i]
		b = binary.LittleEndian.AppendUint64(b, uint64(o.TS.UnixNano()))
		b = binary.LittleEndian.AppendUint64(b, o.Hash)
		for _, s := range [...]string{o.TraceID, o.SpanID, o.Severity, o.Service, o.Template, o.Model} {
			b = binary.AppendUvarint(b, index(s))
		}
		b = binary.AppendUvarint(b, uint64(len(o.Body)))
		b = append(b, o.Body...)
		if o.Vec != nil {
			vecs[o.Hash] = o.Vec
		}
	}
	b = binary.AppendUvarint(b, uint64(len(table)))
	for _, s := range table {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(vecs)))
	for h, v := range vecs {
		b = binary.LittleEndian.AppendUint64(b, h)
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, f := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(trailer)))
	return append(b, trailer...)
}

func FuzzDecode(f *testing.F) {
	for _, n := range []int{0, 1, 7} {
		f.Add(Append(nil, sampleRows(n), []byte("t")))
		f.Add(appendV1(nil, sampleRows(n), []byte("t")))
	}
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, trailer, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes again to the same rows.
		again, trailer2, err := Decode(Append(nil, rows, trailer))
		require.NoError(t, err)
		require.Equal(t, string(trailer), string(trailer2))
		require.Len(t, again, len(rows))
		for i := range rows {
			require.Equal(t, rows[i].Body, again[i].Body)
			require.Equal(t, rows[i].TraceID, again[i].TraceID)
			require.Equal(t, rows[i].Service, again[i].Service)
			require.Equal(t, rows[i].Template, again[i].Template)
			require.Equal(t, rows[i].TS.UnixNano(), again[i].TS.UnixNano())
			require.Equal(t, rows[i].Vec, again[i].Vec)
			require.Equal(t, rows[i].Replaces, again[i].Replaces)
			require.Equal(t, rows[i].ReplacedAt.UnixNano(), again[i].ReplacedAt.UnixNano())
		}
	})
}
