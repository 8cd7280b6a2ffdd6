package spoolconnector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"

	spoollog "github.com/otelcol-agentic/otelcol-agentic/internal/spool"
)

// isolateAfter is how many failed attempts of a batch make the spool try
// its requests one by one, to tell a request a pipeline cannot take from a
// pipeline that takes nothing.
const isolateAfter = 3

// rawRecord is a spooled request: its position, and as the log holds it
// when it is read back to be sent on its own.
type rawRecord struct {
	seq  uint64
	data []byte
}

// delivery is a batch on its way: the records first..last of the log (some
// may be ticks or set aside), the requests among them, and their content
// merged.
type delivery[T any] struct {
	first, last uint64
	recs        []rawRecord
	data        T
	items       int
}

// health remembers when a target last took something, from any cursor.
type health struct {
	mu   sync.Mutex
	last time.Time
}

func (h *health) succeeded() {
	h.mu.Lock()
	h.last = time.Now()
	h.mu.Unlock()
}

func (h *health) since(t time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last.After(t)
}

// send hands v to t under token.
func (s *spool[T]) send(t *target[T], token string, v T) error {
	if t.mutates {
		v = s.codec.clone(v)
	}
	return t.consume(tokenContext(context.Background(), token), v)
}

// deliverWhole hands v to t under token until t has taken it. It gives up
// after isolateAfter failed attempts (or a permanent error), reporting that
// the batch should be taken apart, or when stop closes.
func (s *spool[T]) deliverWhole(stop <-chan struct{}, t *target[T], token string, v T, items int, first, last uint64) (delivered, takeApart bool) {
	for attempt := 1; ; attempt++ {
		err := s.send(t, token, v)
		if err == nil {
			t.ok.succeeded()
			s.tel.delivered.Add(context.Background(), int64(items), s.attrs(attribute.String("pipeline", t.id)))
			s.recovered(t)
			return true, false
		}
		s.failed(t, err, first, last)
		if attempt >= isolateAfter || consumererror.IsPermanent(err) {
			return false, true
		}
		if !sleep(stop, s.backoff(attempt)) {
			return false, false
		}
	}
}

// deliver hands a batch of the log to t: whole, or, once that failed
// isolateAfter times, one request at a time (calling isolated first, so
// that the cursor records it). It returns false when stop closes first.
func (s *spool[T]) deliver(stop <-chan struct{}, t *target[T], d *delivery[T], isolatedAlready bool, isolated func()) bool {
	if !isolatedAlready {
		ok, apart := s.deliverWhole(stop, t, s.token(t, fmt.Sprintf("%d-%d", d.first, d.last)), d.data, d.items, d.first, d.last)
		if !apart {
			return ok
		}
		isolated()
	}
	recs, ok := s.rawRecords(stop, d)
	if !ok {
		return false
	}
	units := make([]unit[T], len(recs))
	for i, r := range recs {
		units[i] = unit[T]{key: fmt.Sprintf("r%d", r.seq), seq: r.seq, raw: r.data, decode: func() (T, error) {
			v, err := s.codec.unmarshal(r.data)
			if err == nil {
				s.codec.own(v)
			}
			return v, err
		}}
	}
	return s.isolate(stop, t, units)
}

// unit is what a batch is taken apart into: a request of the log, or a
// trace.
type unit[T any] struct {
	key    string // names its token
	seq    uint64 // the record it is set aside under
	raw    []byte // OTLP protobuf, to set aside
	decode func() (T, error)
}

// isolate delivers units one at a time. A unit the target keeps refusing
// while others get through — a permanent error, or failing again after the
// target took something since it first failed — is set aside (deadLetter)
// rather than holding up everything behind it. While the target takes
// nothing at all, nothing is set aside: it is retried.
func (s *spool[T]) isolate(stop <-chan struct{}, t *target[T], units []unit[T]) bool {
	type try struct {
		unit[T]
		fails     int
		firstFail time.Time
	}
	queue := make([]*try, len(units))
	for i, u := range units {
		queue[i] = &try{unit: u}
	}
	var suspects []*try
	for len(queue) > 0 || len(suspects) > 0 {
		fromQueue := len(queue) > 0
		var r *try
		if fromQueue {
			r = queue[0]
		} else {
			r = suspects[0]
		}
		pop := func() {
			if fromQueue {
				queue = queue[1:]
			} else {
				suspects = suspects[1:]
			}
		}
		v, err := r.decode()
		if err == nil {
			err = s.send(t, s.token(t, r.key), v)
		}
		if err == nil {
			t.ok.succeeded()
			s.tel.delivered.Add(context.Background(), int64(s.codec.items(v)), s.attrs(attribute.String("pipeline", t.id)))
			pop()
			continue
		}
		s.failed(t, err, r.seq, r.seq)
		if r.fails == 0 {
			r.firstFail = time.Now()
		}
		r.fails++
		switch {
		case consumererror.IsPermanent(err), r.fails >= isolateAfter && t.ok.since(r.firstFail):
			s.deadLetter(context.Background(), r.key, r.seq, t.id, r.raw, err)
			pop()
			continue
		case r.fails >= isolateAfter && fromQueue:
			// Let the others show whether the target takes anything.
			pop()
			suspects = append(suspects, r)
			continue
		}
		if !sleep(stop, s.backoff(r.fails)) {
			return false
		}
	}
	s.recovered(t)
	return true
}

// failed counts a failed attempt and logs the first of a run of them, and
// then every tenth.
func (s *spool[T]) failed(t *target[T], err error, first, last uint64) {
	s.tel.failures.Add(context.Background(), 1, s.attrs(attribute.String("pipeline", t.id)))
	t.mu.Lock()
	t.failures++
	n := t.failures
	t.mu.Unlock()
	if n == 1 || n%10 == 0 {
		s.logger.Warn("A pipeline could not take spooled data; retrying (nothing is lost: it stays in the spool)",
			zap.String("pipeline", t.id), zap.Uint64("first_record", first), zap.Uint64("last_record", last),
			zap.Int("failed_attempts", n), zap.Error(err))
	}
}

// recovered logs the end of a run of failures.
func (s *spool[T]) recovered(t *target[T]) {
	t.mu.Lock()
	n := t.failures
	t.failures = 0
	t.mu.Unlock()
	if n > 0 {
		s.logger.Info("A pipeline takes spooled data again", zap.String("pipeline", t.id), zap.Int("failed_attempts", n))
	}
}

func (s *spool[T]) backoff(attempt int) time.Duration {
	d := s.cfg.RetryOnFailure.InitialInterval
	for i := 1; i < attempt && d < s.cfg.RetryOnFailure.MaxInterval; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryOnFailure.MaxInterval)
}

// sleep waits d, or less if stop closes; it reports whether to go on.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// rawRecords reads d's requests back from the log as they were spooled.
func (s *spool[T]) rawRecords(stop <-chan struct{}, d *delivery[T]) ([]rawRecord, bool) {
	want := make(map[uint64]bool, len(d.recs))
	for _, r := range d.recs {
		want[r.seq] = true
	}
	var out []rawRecord
	r := s.log.NewReader(d.first)
	defer func() { r.Close() }()
	for r.Seq() <= d.last {
		rec, err := r.Next()
		var ce *spoollog.CorruptError
		switch {
		case errors.Is(err, io.EOF):
			return out, true
		case errors.As(err, &ce):
			r.Skip(ce)
			continue
		case err != nil:
			s.logger.Error("Could not read the spool; will try again", zap.String("directory", s.dir), zap.Error(err))
			if !sleep(stop, time.Second) {
				return nil, false
			}
			r.Close()
			r = s.log.NewReader(r.Seq())
			continue
		}
		if want[rec.Seq] {
			out = append(out, rawRecord{seq: rec.Seq, data: rec.Data})
		}
	}
	return out, true
}
