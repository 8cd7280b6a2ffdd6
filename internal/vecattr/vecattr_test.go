package vecattr

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplacesRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 2, 3, 456789, time.UTC)
	hs := []uint64{1, 1 << 63, 42}
	gotAt, got, err := DecodeReplaces(EncodeReplaces(at, hs))
	require.NoError(t, err)
	assert.Equal(t, hs, got)
	assert.True(t, at.Equal(gotAt))
	for _, bad := range [][]byte{nil, make([]byte, 8), make([]byte, 17)} {
		_, _, err := DecodeReplaces(bad)
		assert.ErrorIs(t, err, ErrBadReplaces, "%d bytes", len(bad))
	}
}

// The attribute may come from a client's own record: any bytes give an
// error or hashes that encode back to the same bytes.
func FuzzDecodeReplaces(f *testing.F) {
	f.Add(EncodeReplaces(time.Unix(0, 7), []uint64{3, 4}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		at, hs, err := DecodeReplaces(b)
		if err != nil {
			return
		}
		require.Equal(t, b, EncodeReplaces(at, hs))
	})
}
