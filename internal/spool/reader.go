package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader reads the log in order from a sequence number on. A Reader is not
// safe for concurrent use; any number of Readers may read one log.
type Reader struct {
	l     *Log
	seq   uint64 // the next record to return
	f     *os.File
	rr    *recordReader
	first uint64 // first sequence number of the open segment
}

// NewReader returns a reader whose first record is from (or the oldest
// record still in the log, if from was trimmed).
func (l *Log) NewReader(from uint64) *Reader {
	return &Reader{l: l, seq: from}
}

// Seq returns the sequence number of the record Next returns next.
func (r *Reader) Seq() uint64 { return r.seq }

// CorruptError reports records that cannot be read back: the rest of the
// segment from Seq on. Bytes holds them as they are on disk, to be set
// aside; SkipTo moves the reader past them.
type CorruptError struct {
	Path   string
	Seq    uint64 // the first record not readable
	SkipTo uint64 // the first record of the next segment
	Bytes  []byte
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("spool segment %s is damaged from record %d on (%v)", e.Path, e.Seq, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Next returns the next record, or io.EOF once the reader has caught up
// with the log (wait on Log.Changed and call again). A damaged record gives
// a *CorruptError; call Skip to go on past it.
func (r *Reader) Next() (Record, error) {
	for {
		if r.seq >= r.l.Next() {
			return Record{}, io.EOF
		}
		if r.rr == nil {
			if err := r.open(); err != nil {
				return Record{}, err
			}
		}
		rec, err := r.rr.next()
		switch {
		case errors.Is(err, io.EOF):
			// The end of a segment that was closed: the next record is at
			// the start of the next one.
			next, ok := r.nextSegment()
			if !ok {
				return Record{}, io.EOF
			}
			if next > r.seq {
				return Record{}, r.corrupt(fmt.Errorf("records %d to %d are missing", r.seq, next-1))
			}
			r.close()
			continue
		case err != nil:
			return Record{}, r.corrupt(err)
		case rec.Seq < r.seq:
			continue
		case rec.Seq > r.seq:
			return Record{}, r.corrupt(fmt.Errorf("expected record %d, found %d", r.seq, rec.Seq))
		}
		r.seq++
		return rec, nil
	}
}

// open opens the segment holding r.seq and moves to that record.
func (r *Reader) open() error {
	path, first, ok := r.l.segmentFor(r.seq)
	if !ok {
		oldest, ok := r.l.oldest()
		if !ok || oldest <= r.seq {
			return fmt.Errorf("spool record %d is not in %s", r.seq, r.l.Dir())
		}
		r.seq = oldest
		path, first, ok = r.l.segmentFor(r.seq)
		if !ok {
			return fmt.Errorf("spool record %d is not in %s", r.seq, r.l.Dir())
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open spool segment: %w", err)
	}
	r.f, r.first, r.rr = f, first, newRecordReader(f, 0)
	for s := first; s < r.seq; s++ {
		if _, err := r.rr.skip(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return r.corrupt(err)
		}
	}
	return nil
}

// nextSegment returns the first record of the segment after the open one.
func (r *Reader) nextSegment() (uint64, bool) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	for _, s := range r.l.segs {
		if s.first > r.first {
			return s.first, true
		}
	}
	return 0, false
}

func (r *Reader) corrupt(err error) error {
	ce := &CorruptError{Seq: r.seq, Err: err}
	if r.f != nil {
		ce.Path = r.f.Name()
		if info, serr := r.f.Stat(); serr == nil && info.Size() > r.rr.off {
			ce.Bytes = make([]byte, info.Size()-r.rr.off)
			if _, rerr := r.f.ReadAt(ce.Bytes, r.rr.off); rerr != nil && !errors.Is(rerr, io.EOF) {
				ce.Bytes = nil
			}
		}
	}
	if next, ok := r.nextSegment(); ok {
		ce.SkipTo = next
	} else {
		ce.SkipTo = r.l.Next()
	}
	return ce
}

// Skip moves the reader past the damaged records a *CorruptError reported.
func (r *Reader) Skip(ce *CorruptError) {
	r.close()
	if ce.SkipTo > r.seq {
		r.seq = ce.SkipTo
	}
}

func (r *Reader) close() {
	if r.f != nil {
		_ = r.f.Close()
	}
	r.f, r.rr = nil, nil
}

// Close releases the reader's file.
func (r *Reader) Close() { r.close() }

// oldest returns the first sequence number still in the log.
func (l *Log) oldest() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) == 0 {
		return 0, false
	}
	return l.segs[0].first, true
}
