// Package vecattr names the attributes the embedding processor attaches to
// the records it embeds, and encodes vectors compactly for them: the
// clickhouse_vector exporter reads what the processor writes.
package vecattr

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Log record attributes.
const (
	Template     = "embedding.template"      // string: the normalised body
	TemplateHash = "embedding.template_hash" // int64: the template's hash (uint64 bits)
	Vector       = "embedding.vector"        // bytes: little-endian float32s
	Model        = "embedding.model"         // string
	// TemplateReplaces rides on the first record of a template in a batch
	// when the template replaces older hashes (it generalised): bytes,
	// EncodeReplaces. The exporter stores the re-pointing with the batch's
	// occurrences.
	TemplateReplaces = "embedding.template_replaces"
)

// Root-span attributes of a summarised trace.
const (
	SpanSequence  = "trace.span_sequence"
	SpanCount     = "trace.span_count"
	ErrorCount    = "trace.error_count"
	TotalDuration = "trace.duration_ns"
	RootOperation = "trace.root_operation"
	AnomalyScore  = "trace.anomaly_score"
	IsAnomaly     = "trace.is_anomaly"
	AnomalyType   = "trace.anomaly_type"
)

// Encode packs a vector as little-endian float32s.
func Encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// EncodeReplaces packs when a template's older hashes were found (unix
// nanoseconds) and the hashes, little endian 64-bit each.
func EncodeReplaces(at time.Time, hashes []uint64) []byte {
	b := make([]byte, 0, 8*(1+len(hashes)))
	b = binary.LittleEndian.AppendUint64(b, uint64(at.UnixNano()))
	for _, h := range hashes {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return b
}

// ErrBadReplaces is returned for bytes that are not EncodeReplaces' output.
var ErrBadReplaces = errors.New("template replaces attribute is not a time and 64-bit hashes")

// DecodeReplaces unpacks what EncodeReplaces produced.
func DecodeReplaces(b []byte) (time.Time, []uint64, error) {
	if len(b) < 16 || len(b)%8 != 0 {
		return time.Time{}, nil, ErrBadReplaces
	}
	at := time.Unix(0, int64(binary.LittleEndian.Uint64(b))).UTC()
	hs := make([]uint64, len(b)/8-1)
	for i := range hs {
		hs[i] = binary.LittleEndian.Uint64(b[8*(i+1):])
	}
	return at, hs, nil
}

// ErrBadVector is returned for a byte slice that is not a float32 vector.
var ErrBadVector = errors.New("vector attribute length is not a multiple of 4")

// Decode unpacks what Encode produced.
func Decode(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, ErrBadVector
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
