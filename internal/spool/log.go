// Package spool is a write-ahead log on local disk: what a collector has
// acknowledged is appended here before the answer goes out, and readers
// (cursors) take it from here to the store at their own pace.
//
// The log is a directory of segment files named after the sequence number of
// their first record. A record is written with one write(2) and is readable,
// and survives the death of the process, once Append returns; with Sync it
// also survives the machine's (fdatasync before Append returns, shared by the
// appends waiting at the same time). Segments whose records every cursor has
// passed are deleted, so the directory shrinks back as the store catches up.
//
// The log is bounded: an append that would take it past MaxBytes, or leave
// the filesystem with less than MinFreeBytes free, is refused with a
// *FullError, and a write the disk refuses (ENOSPC) is undone and refused the
// same way; appends succeed again as soon as there is room.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kind tells a record's payload.
type Kind byte

const (
	// KindData is a record carrying data.
	KindData Kind = 1
	// KindTick carries no data: it marks that time passed while nothing was
	// appended, for readers whose decisions depend on the log's time.
	KindTick Kind = 2
)

// Record is one entry of the log.
type Record struct {
	Seq  uint64
	Time int64 // unix nanoseconds at append, never decreasing along the log
	Kind Kind
	Data []byte
}

// headerSize is a record's framing: payload length, CRC-32C of the rest of
// the header and the payload, sequence number, time, kind.
const headerSize = 4 + 4 + 8 + 8 + 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options configure a log.
type Options struct {
	// Dir holds the segments; it is created if missing.
	Dir string
	// MaxBytes bounds the segments' total size on disk.
	MaxBytes int64
	// MinFreeBytes: appends are refused while the filesystem holding Dir has
	// less than this free.
	MinFreeBytes int64
	// SegmentBytes: a segment is closed once it holds this many bytes
	// (default 16 MiB).
	SegmentBytes int64
	// Sync makes Append return only once the record is on stable storage.
	Sync bool
	// Now is the clock (default time.Now); for tests.
	Now func() time.Time
	// FreeSpace reports the free bytes of Dir's filesystem (default statfs);
	// for tests.
	FreeSpace func(dir string) (int64, error)
}

// FullError refuses an append for want of room.
type FullError struct {
	Disk      bool  // the filesystem, not the log's bound, is short of room
	Used, Max int64 // the log's bytes on disk and its bound
	Free      int64 // the filesystem's free bytes (Disk), when known
	MinFree   int64
	Err       error // the write's error, when the disk refused it
}

func (e *FullError) Error() string {
	if e.Disk {
		if e.Err != nil {
			return fmt.Sprintf("the disk refused the write (%v); the spool holds %d bytes", e.Err, e.Used)
		}
		return fmt.Sprintf("the filesystem has %d bytes free, less than min_free_bytes (%d)", e.Free, e.MinFree)
	}
	return fmt.Sprintf("the spool holds %d of its max_bytes %d", e.Used, e.Max)
}

func (e *FullError) Unwrap() error { return e.Err }

// ErrTooLarge refuses a record that could never fit the log.
var ErrTooLarge = errors.New("record larger than the spool's max_bytes")

type segment struct {
	first uint64 // sequence number of its first record
	size  int64
	path  string
}

// Log is an open write-ahead log. Its methods are safe for concurrent use.
type Log struct {
	opts Options

	mu       sync.Mutex
	segs     []*segment // oldest first; the last is being written
	active   *os.File
	next     uint64 // sequence number of the next record
	lastTime int64
	used     int64 // sum of segment sizes
	changed  chan struct{}
	closed   bool
	written  uint64 // records written to the active file and not yet synced are below this

	freeAt   time.Time // when free was read
	free     int64
	freeErr  error
	syncMu   sync.Mutex
	syncedTo uint64 // records below this are on stable storage
}

// Open opens (or creates) the log in opts.Dir. A torn record at the end of
// the last segment, left by a crash during a write, is cut off.
func Open(opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 16 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = FreeSpace
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the spool directory: %w", err)
	}
	l := &Log{opts: opts, changed: make(chan struct{})}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		l.segs = append(l.segs, &segment{first: first, size: info.Size(), path: filepath.Join(opts.Dir, name)})
	}
	sort.Slice(l.segs, func(i, j int) bool { return l.segs[i].first < l.segs[j].first })
	if len(l.segs) == 0 {
		if err := l.newSegment(0); err != nil {
			return nil, err
		}
	} else {
		last := l.segs[len(l.segs)-1]
		end, next, lastTime, err := scanTail(last)
		if err != nil {
			return nil, err
		}
		if end < last.size {
			if err := os.Truncate(last.path, end); err != nil {
				return nil, fmt.Errorf("cut the torn tail of %s: %w", last.path, err)
			}
			last.size = end
		}
		l.next, l.lastTime = next, lastTime
		f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		l.active = f
	}
	for _, s := range l.segs {
		l.used += s.size
	}
	l.written, l.syncedTo = l.next, l.next
	return l, nil
}

// scanTail finds the end of the last complete record of s, the sequence
// number after it and its time.
func scanTail(s *segment) (end int64, next uint64, lastTime int64, err error) {
	f, err := os.Open(s.path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	r := newRecordReader(f, 0)
	next = s.first
	for {
		rec, err := r.next()
		if err != nil {
			// io.EOF, a short record or a checksum mismatch: the tail
			// ends at the last good record.
			return r.off, next, lastTime, nil
		}
		next, lastTime = rec.Seq+1, rec.Time
	}
}

// newSegment starts a segment whose first record will be first. Caller
// holds mu (or owns l exclusively).
func (l *Log) newSegment(first uint64) error {
	path := filepath.Join(l.opts.Dir, fmt.Sprintf("%020d.seg", first))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if l.opts.Sync {
		if err := syncDir(l.opts.Dir); err != nil {
			_ = f.Close()
			return err
		}
	}
	if l.active != nil {
		_ = l.active.Close()
	}
	l.active = f
	l.segs = append(l.segs, &segment{first: first, path: path})
	return nil
}

// Append writes a record and returns it once it is readable (and, with
// Sync, on stable storage). Data is not retained.
func (l *Log) Append(kind Kind, data []byte) (Record, error) {
	size := int64(headerSize + len(data))
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return Record{}, errors.New("spool closed")
	}
	if kind == KindData {
		if size > l.opts.MaxBytes {
			l.mu.Unlock()
			return Record{}, fmt.Errorf("%w: %d bytes, max_bytes %d", ErrTooLarge, size, l.opts.MaxBytes)
		}
		if l.used+size > l.opts.MaxBytes {
			err := &FullError{Used: l.used, Max: l.opts.MaxBytes}
			l.mu.Unlock()
			return Record{}, err
		}
		if free, err := l.freeSpace(); err == nil && free-size < l.opts.MinFreeBytes {
			err := &FullError{Disk: true, Used: l.used, Max: l.opts.MaxBytes, Free: free, MinFree: l.opts.MinFreeBytes}
			l.mu.Unlock()
			return Record{}, err
		}
	}
	seg := l.segs[len(l.segs)-1]
	if seg.size >= l.opts.SegmentBytes {
		if err := l.newSegment(l.next); err != nil {
			l.mu.Unlock()
			return Record{}, diskError(err, l.used)
		}
		seg = l.segs[len(l.segs)-1]
	}
	now := l.opts.Now().UnixNano()
	if now < l.lastTime {
		now = l.lastTime
	}
	rec := Record{Seq: l.next, Time: now, Kind: kind, Data: data}
	buf := appendRecord(make([]byte, 0, size), rec)
	if _, err := l.active.Write(buf); err != nil {
		// Undo a partial write so that the segment stays a sequence of
		// whole records.
		if terr := l.active.Truncate(seg.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("and could not cut the partial record off %s: %w", seg.path, terr))
		}
		l.freeAt = time.Time{} // read the free space afresh next time
		l.mu.Unlock()
		return Record{}, diskError(err, l.used)
	}
	seg.size += size
	l.used += size
	l.free -= size // until the next reading
	l.next++
	l.lastTime = now
	l.written = l.next
	close(l.changed)
	l.changed = make(chan struct{})
	active := l.active
	l.mu.Unlock()
	if l.opts.Sync {
		if err := l.syncUpTo(active, rec.Seq+1); err != nil {
			return Record{}, fmt.Errorf("sync the spool: %w", err)
		}
	}
	return rec, nil
}

// diskError reports a failed write: one for want of room as a *FullError.
func diskError(err error, used int64) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &FullError{Disk: true, Used: used, Err: err}
	}
	return fmt.Errorf("write the spool: %w", err)
}

// syncUpTo makes the records below seq stable: one fdatasync covers every
// append that finished writing before it started.
func (l *Log) syncUpTo(f *os.File, seq uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.syncedTo >= seq {
		return nil
	}
	l.mu.Lock()
	upTo := l.written
	l.mu.Unlock()
	if err := fdatasync(f); err != nil {
		return err
	}
	l.syncedTo = upTo
	return nil
}

// freeSpace reads the filesystem's free bytes at most every 100 ms, less
// what was appended since. Caller holds mu.
func (l *Log) freeSpace() (int64, error) {
	if now := time.Now(); now.Sub(l.freeAt) > 100*time.Millisecond {
		l.free, l.freeErr = l.opts.FreeSpace(l.opts.Dir)
		l.freeAt = now
	}
	return l.free, l.freeErr
}

func appendRecord(buf []byte, r Record) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(r.Data)))
	crcAt := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	buf = binary.LittleEndian.AppendUint64(buf, r.Seq)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(r.Time))
	buf = append(buf, byte(r.Kind))
	buf = append(buf, r.Data...)
	binary.LittleEndian.PutUint32(buf[crcAt:], crc32.Checksum(buf[crcAt+4:], castagnoli))
	return buf
}

// Next returns the sequence number the next record will get.
func (l *Log) Next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Changed returns a channel closed at the next append.
func (l *Log) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Bytes returns the segments' size on disk.
func (l *Log) Bytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}

// MaxBytes returns the log's bound.
func (l *Log) MaxBytes() int64 { return l.opts.MaxBytes }

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.opts.Dir }

// Trim deletes the segments holding only records below seq. When every
// record is below seq and the segment being written has grown past 1 MiB
// (or a sixteenth of MaxBytes), a new one is started so that it can go too.
func (l *Log) Trim(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if seq >= l.next && len(l.segs) > 0 && l.segs[len(l.segs)-1].size >= min(1<<20, l.opts.MaxBytes/16) {
		if err := l.newSegment(l.next); err != nil {
			return err
		}
	}
	var errs []error
	for len(l.segs) > 1 && l.segs[1].first <= seq {
		s := l.segs[0]
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			break
		}
		l.used -= s.size
		l.segs = l.segs[1:]
	}
	return errors.Join(errs...)
}

// Close closes the log; records appended stay on disk.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.changed)
	if l.active == nil {
		return nil
	}
	return l.active.Close()
}

// segmentFor returns the path of the segment that holds seq and that
// segment's first sequence number, or false when seq is not (or no longer)
// in the log.
func (l *Log) segmentFor(seq uint64) (path string, first uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq >= l.next {
		return "", 0, false
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > seq })
	if i == 0 {
		return "", 0, false
	}
	return l.segs[i-1].path, l.segs[i-1].first, true
}

// recordReader decodes records from a segment file at its offsets. It reads
// with pread, never ahead: the file may be growing under it.
type recordReader struct {
	f   io.ReaderAt
	off int64 // offset of the next record
	hdr [headerSize]byte
}

func newRecordReader(f io.ReaderAt, off int64) *recordReader {
	return &recordReader{f: f, off: off}
}

// ErrCorrupt reports a record whose checksum or framing does not match.
var ErrCorrupt = errors.New("corrupt spool record")

// header reads the next record's header: its payload length and the
// record without Data.
func (rr *recordReader) header() (uint32, uint32, Record, error) {
	if _, err := rr.f.ReadAt(rr.hdr[:], rr.off); err != nil {
		if errors.Is(err, io.EOF) {
			// Nothing, or part of a header, past the last record.
			return 0, 0, Record{}, io.EOF
		}
		return 0, 0, Record{}, err
	}
	n := binary.LittleEndian.Uint32(rr.hdr[0:])
	sum := binary.LittleEndian.Uint32(rr.hdr[4:])
	rec := Record{
		Seq:  binary.LittleEndian.Uint64(rr.hdr[8:]),
		Time: int64(binary.LittleEndian.Uint64(rr.hdr[16:])),
		Kind: Kind(rr.hdr[24]),
	}
	if n > maxRecord {
		return 0, 0, Record{}, fmt.Errorf("%w: length %d at offset %d", ErrCorrupt, n, rr.off)
	}
	return n, sum, rec, nil
}

// maxRecord bounds a payload's length field, beyond which it is taken for
// damage rather than a record.
const maxRecord = 1 << 30

// next reads the next record: io.EOF where the file ends at or within a
// record (a torn tail), ErrCorrupt where a record does not check out.
func (rr *recordReader) next() (Record, error) {
	n, sum, rec, err := rr.header()
	if err != nil {
		return Record{}, err
	}
	rec.Data = make([]byte, n)
	if _, err := rr.f.ReadAt(rec.Data, rr.off+headerSize); err != nil {
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		return Record{}, err
	}
	crc := crc32.Update(crc32.Checksum(rr.hdr[8:], castagnoli), castagnoli, rec.Data)
	if crc != sum {
		return Record{}, fmt.Errorf("%w: sequence %d at offset %d", ErrCorrupt, rec.Seq, rr.off)
	}
	rr.off += int64(headerSize) + int64(n)
	return rec, nil
}

// skip passes over the next record without reading its payload, returning
// its sequence number.
func (rr *recordReader) skip() (uint64, error) {
	n, _, rec, err := rr.header()
	if err != nil {
		return 0, err
	}
	rr.off += int64(headerSize) + int64(n)
	return rec.Seq, nil
}
