// Package occenc is the compact binary form in which the clickhouse_vector
// exporter's persistent queue holds error occurrences:
//
//	version byte (3)
//	uvarint n, then per occurrence:
//	  int64 unix nanos, uint64 template hash (little endian),
//	  uvarint indexes into the string table of severity, service,
//	  template and model, then trace id, span id and body (each uvarint
//	  length + bytes)
//	the string table: uvarint count, each uvarint length + bytes
//	uvarint vectors, each: uint64 hash, uvarint dims, dims float32s
//	uvarint re-pointings, each: uint64 hash, int64 unix nanos, uvarint n,
//	  n uint64 hashes it replaces
//	uvarint length + opaque trailer bytes (0: none)
//
// Severities, services, templates and models repeat within a batch, so each
// is stored once, and so is each template's vector; trace and span ids are
// nearly all distinct, so they are stored in place. Version 1 (queues
// written by earlier builds) indexed the ids too: trace id, span id,
// severity, service, template, model. Decoding checks every length against
// what is left: damaged input yields an error, never a panic or made-up
// rows.
package occenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Row is one error occurrence.
type Row struct {
	TS                                 time.Time
	TraceID, SpanID, Severity, Service string
	Body, Template, Model              string
	Hash                               uint64
	Vec                                []float32 // the template's vector, shared by its rows; nil when unknown
	// Replaces are the hashes the template had before it generalised, as
	// of ReplacedAt (when the embedding processor templated the line);
	// shared by the template's rows; nil when none rode with the batch.
	Replaces   []uint64
	ReplacedAt time.Time
}

const version = 3

// ErrDamaged is returned for input that is truncated or inconsistent.
var ErrDamaged = errors.New("encoded occurrences are truncated or damaged")

// Size estimates the encoded size of a row, vector aside.
func Size(r *Row) int {
	return 24 + len(r.TraceID) + len(r.SpanID) + len(r.Severity) + len(r.Service) + len(r.Body) + len(r.Template) + len(r.Model)
}

// Append appends the encoding of rows and trailer to b.
func Append(b []byte, rows []Row, trailer []byte) []byte {
	strs := map[string]uint64{}
	var table []string
	// Rows of a batch mostly repeat the previous row's severity, service
	// and model (and often its template): those skip the map.
	var (
		last    [4]string
		lastIdx [4]uint64
		seen    [4]bool
	)
	index := func(k int, s string) uint64 {
		if seen[k] && s == last[k] {
			return lastIdx[k]
		}
		i, ok := strs[s]
		if !ok {
			i = uint64(len(table))
			strs[s] = i
			table = append(table, s)
		}
		last[k], lastIdx[k], seen[k] = s, i, true
		return i
	}
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(len(rows)))
	vecs := map[uint64][]float32{}
	reps := map[uint64]*Row{}
	for i := range rows {
		o := &rows[i]
		if o.Replaces != nil {
			reps[o.Hash] = o
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(o.TS.UnixNano()))
		b = binary.LittleEndian.AppendUint64(b, o.Hash)
		b = binary.AppendUvarint(b, index(0, o.Severity))
		b = binary.AppendUvarint(b, index(1, o.Service))
		b = binary.AppendUvarint(b, index(2, o.Template))
		b = binary.AppendUvarint(b, index(3, o.Model))
		for _, s := range [...]string{o.TraceID, o.SpanID, o.Body} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
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
	b = binary.AppendUvarint(b, uint64(len(reps)))
	for h, o := range reps {
		b = binary.LittleEndian.AppendUint64(b, h)
		b = binary.LittleEndian.AppendUint64(b, uint64(o.ReplacedAt.UnixNano()))
		b = binary.AppendUvarint(b, uint64(len(o.Replaces)))
		for _, r := range o.Replaces {
			b = binary.LittleEndian.AppendUint64(b, r)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(trailer)))
	return append(b, trailer...)
}

// Decode reads what Append wrote. The rows' strings and the trailer share
// buf, which must not change afterwards; rows of one template share its
// vector.
func Decode(buf []byte) (rows []Row, trailer []byte, err error) {
	d := decoder{b: buf}
	v := d.byte()
	if d.err != nil {
		return nil, nil, d.err
	}
	if v < 1 || v > version {
		return nil, nil, fmt.Errorf("encoded occurrences have version %d; this build reads 1 to %d", v, version)
	}
	// Fixed bytes, string-table indexes and in-place lengths at least.
	minRow := 16 + 4 + 3
	if v == 1 {
		minRow = 16 + 6 + 1
	}
	n := d.count(minRow)
	type fixed struct {
		ts, hash uint64
		idx      [6]uint64 // trace, span, severity, service, template, model (v1)
	}
	fx := make([]fixed, n)
	rows = make([]Row, n)
	for i := 0; i < n && d.err == nil; i++ {
		fx[i].ts, fx[i].hash = d.uint64(), d.uint64()
		if v == 1 {
			for k := range fx[i].idx {
				fx[i].idx[k] = d.uvarint()
			}
		} else {
			for k := 2; k < 6; k++ {
				fx[i].idx[k] = d.uvarint()
			}
			rows[i].TraceID, rows[i].SpanID = d.str(), d.str()
		}
		rows[i].Body = d.str()
	}
	table := make([]string, d.count(1))
	for i := range table {
		table[i] = d.str()
	}
	vecs := map[uint64][]float32{}
	for range d.count(9) {
		h := d.uint64()
		v := make([]float32, d.count(4))
		for k := range v {
			v[k] = math.Float32frombits(d.uint32())
		}
		vecs[h] = v
	}
	type replaced struct {
		at   time.Time
		olds []uint64
	}
	reps := map[uint64]replaced{}
	if v >= 3 {
		for range d.count(17) {
			h, at := d.uint64(), d.uint64()
			olds := make([]uint64, d.count(8))
			for k := range olds {
				olds[k] = d.uint64()
			}
			reps[h] = replaced{time.Unix(0, int64(at)).UTC(), olds}
		}
	}
	trailer = d.bytes()
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("encoded occurrences have %d bytes after their end", len(d.b))
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	first := 2 // the first string-table index a row of this version has
	if v == 1 {
		first = 0
	}
	for i := range rows {
		x := fx[i].idx
		for _, k := range x[first:] {
			if k >= uint64(len(table)) {
				return nil, nil, ErrDamaged
			}
		}
		o := &rows[i]
		o.TS = time.Unix(0, int64(fx[i].ts)).UTC()
		o.Hash = fx[i].hash
		if v == 1 {
			o.TraceID, o.SpanID = table[x[0]], table[x[1]]
		}
		o.Severity, o.Service, o.Template, o.Model = table[x[2]], table[x[3]], table[x[4]], table[x[5]]
		o.Vec = vecs[o.Hash]
		if r, ok := reps[o.Hash]; ok {
			o.Replaces, o.ReplacedAt = r.olds, r.at
		}
	}
	return rows, trailer, nil
}

// decoder reads the encoding; after the first error every read returns
// zero and the error stays.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) need(n int) bool {
	if d.err == nil && (n < 0 || len(d.b) < n) {
		d.err = ErrDamaged
	}
	return d.err == nil
}

func (d *decoder) byte() byte {
	if !d.need(1) {
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uint32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrDamaged
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of elements of at least minSize bytes each, refusing
// one larger than the rest of the buffer could hold.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)/minSize) {
		d.err = ErrDamaged
	}
	if d.err != nil {
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.count(1)
	if !d.need(n) {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
