package replay

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordingRoundTrips(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	at := time.Unix(1765000000, 123456789)
	in := []Frame{
		{Kind: KindOTLP, At: at, Path: "/v1/traces", Body: []byte{1, 2, 3}},
		{Kind: KindOTLP, At: at.Add(time.Second), Path: "/v1/logs", Body: nil},
		{Kind: KindTruth, At: at.Add(2 * time.Second), Body: []byte(`{"kind":"run_end"}`)},
	}
	for _, f := range in {
		require.NoError(t, w.Write(f))
	}
	require.NoError(t, w.Flush())
	out, err := ReadAll(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Len(t, out, 3)
	for i := range in {
		assert.Equal(t, in[i].Kind, out[i].Kind)
		assert.True(t, in[i].At.Equal(out[i].At))
		assert.Equal(t, in[i].Path, out[i].Path)
		assert.Equal(t, len(in[i].Body), len(out[i].Body))
	}

	_, err = ReadAll(bytes.NewReader(buf.Bytes()[:buf.Len()-3]))
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a cut recording says so")
	_, err = ReadAll(bytes.NewReader([]byte("PK\x03\x04 not a recording")))
	assert.ErrorIs(t, err, ErrNotRecording)
}

// FuzzReader: a damaged or hostile recording yields an error, never a
// panic or an allocation beyond the frame limits.
func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	_ = w.Write(Frame{Kind: KindOTLP, At: time.Unix(1, 0), Path: "/v1/logs", Body: []byte("x")})
	_ = w.Write(Frame{Kind: KindTruth, At: time.Unix(2, 0), Body: []byte("{}")})
	_ = w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte(magic + "O\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Add([]byte(magic + "O\x01\x05/v1/l"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for {
			fr, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && err.Error() == "" {
					t.Fatal("an error without a message")
				}
				return
			}
			if len(fr.Path) > maxPath || len(fr.Body) > maxBody {
				t.Fatalf("frame beyond the limits: path %d, body %d", len(fr.Path), len(fr.Body))
			}
		}
	})
}
