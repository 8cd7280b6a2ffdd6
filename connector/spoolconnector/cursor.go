package spoolconnector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"

	spoollog "github.com/otelcol-agentic/otelcol-agentic/internal/spool"
)

// batchCursor delivers the log, in batches, to the pipelines that take it
// as it came. Up to num_consumers batches are on their way at once. Which
// records a batch holds is saved before it is sent, so that after a crash
// the same batch, under the same deduplication token, is sent again.
type batchCursor[T any] struct {
	s     *spool[T]
	slots chan struct{}
	wg    sync.WaitGroup

	mu sync.Mutex
	st batchState

	carry *carried[T] // a request read for a batch that had no room for it
}

// batchState is what the cursor saves: the first record not yet taken into
// a batch, and the batches on their way.
type batchState struct {
	Next     uint64      `json:"next"`
	InFlight []spanState `json:"in_flight,omitempty"`
}

type spanState struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	// Isolated names the pipelines taking this batch one request at a
	// time (their tokens are per request from then on).
	Isolated []string `json:"isolated,omitempty"`
}

type carried[T any] struct {
	seq   uint64
	v     T
	items int
}

const batchStateName = "batch"

func newBatchCursor[T any](s *spool[T]) (*batchCursor[T], error) {
	c := &batchCursor[T]{s: s, slots: make(chan struct{}, s.cfg.NumConsumers)}
	b, err := s.log.LoadState(batchStateName)
	if err != nil {
		return nil, fmt.Errorf("read the spool's position: %w", err)
	}
	if b != nil {
		if err := json.Unmarshal(b, &c.st); err != nil {
			return nil, fmt.Errorf("the spool's position in %s is damaged (%w): move the directory aside to start afresh", s.dir, err)
		}
	}
	return c, nil
}

func (c *batchCursor[T]) position() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	pos := c.st.Next
	for _, sp := range c.st.InFlight {
		pos = min(pos, sp.First)
	}
	return pos
}

func (c *batchCursor[T]) behind() int64 {
	return int64(c.s.log.Next() - c.position())
}

func (c *batchCursor[T]) save() {
	b, err := json.Marshal(c.st)
	if err == nil {
		err = c.s.log.SaveState(batchStateName, b)
	}
	if err != nil {
		// The spool goes on; a crash before the next save sends again
		// what was sent since, and the tokens keep it from being stored
		// twice.
		c.s.logger.Warn("Could not save the spool's position", zap.String("directory", c.s.dir), zap.Error(err))
	}
}

func (c *batchCursor[T]) run(stop <-chan struct{}) {
	defer c.wg.Wait()
	c.mu.Lock()
	replay := slices.Clone(c.st.InFlight)
	next := c.st.Next
	c.mu.Unlock()
	for _, sp := range replay {
		d, ok := c.load(stop, sp.First, sp.Last)
		if !ok {
			return
		}
		select {
		case c.slots <- struct{}{}:
		case <-stop:
			return
		}
		c.wg.Go(func() { c.deliver(stop, d, sp.Isolated) })
	}
	r := c.s.log.NewReader(next)
	defer r.Close()
	for {
		d, ok := c.collect(stop, r)
		if !ok {
			return
		}
		if len(d.recs) == 0 {
			// Only ticks, or requests set aside: nothing to send.
			c.mu.Lock()
			c.st.Next = d.last + 1
			c.save()
			c.mu.Unlock()
			c.s.trim()
			continue
		}
		select {
		case c.slots <- struct{}{}:
		case <-stop:
			return
		}
		c.mu.Lock()
		c.st.InFlight = append(c.st.InFlight, spanState{First: d.first, Last: d.last})
		c.st.Next = d.last + 1
		c.save()
		c.mu.Unlock()
		c.wg.Go(func() { c.deliver(stop, d, nil) })
	}
}

// deliver hands a batch to every pipeline, at once (they only read it; one
// that changes what it is given gets a copy), and, once all have it,
// forgets it.
func (c *batchCursor[T]) deliver(stop <-chan struct{}, d *delivery[T], isolated []string) {
	defer func() { <-c.slots }()
	// Before any pipeline has it: pipelines reading it at once would each
	// take it for theirs and release it twice (a panic), and a retry would
	// send what the first attempt released.
	c.s.codec.own(d.data)
	if len(c.s.batchTargets) > 1 {
		c.s.codec.readOnly(d.data)
	}
	var wg sync.WaitGroup
	var stopped atomic.Bool
	for _, t := range c.s.batchTargets {
		wg.Go(func() {
			if !c.s.deliver(stop, t, d, slices.Contains(isolated, t.id), func() { c.isolated(d.first, t.id) }) {
				stopped.Store(true)
			}
		})
	}
	wg.Wait()
	if stopped.Load() {
		return // the batch stays in flight for the next start
	}
	c.mu.Lock()
	c.st.InFlight = slices.DeleteFunc(c.st.InFlight, func(sp spanState) bool { return sp.First == d.first })
	c.save()
	c.mu.Unlock()
	c.s.trim()
}

func (c *batchCursor[T]) isolated(first uint64, pipeline string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.st.InFlight {
		if c.st.InFlight[i].First == first && !slices.Contains(c.st.InFlight[i].Isolated, pipeline) {
			c.st.InFlight[i].Isolated = append(c.st.InFlight[i].Isolated, pipeline)
		}
	}
	c.save()
}

// collect reads the next batch: at least min_size items, or what came
// within flush_timeout of its first request, at most max_size (a request
// that does not fit waits for the next batch). It returns false when stop
// closes.
func (c *batchCursor[T]) collect(stop <-chan struct{}, r *spoollog.Reader) (*delivery[T], bool) {
	s := c.s
	d := &delivery[T]{first: r.Seq(), data: s.codec.empty()}
	read := false // whether any record (request or not) was taken
	var deadline time.Time
	add := func(seq uint64, v T, n int) {
		if len(d.recs) == 0 {
			deadline = time.Now().Add(s.cfg.Batch.FlushTimeout)
		}
		s.codec.moveInto(d.data, v)
		d.items += n
		d.recs = append(d.recs, rawRecord{seq: seq})
	}
	if cr := c.carry; cr != nil {
		c.carry = nil
		d.first, d.last, read = cr.seq, cr.seq, true
		add(cr.seq, cr.v, cr.items)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for d.items < s.cfg.Batch.MaxSize {
		changed := s.log.Changed()
		rec, err := r.Next()
		var ce *spoollog.CorruptError
		switch {
		case errors.Is(err, io.EOF):
			if len(d.recs) > 0 && (d.items >= s.cfg.Batch.MinSize || !time.Now().Before(deadline)) {
				return d, true
			}
			if len(d.recs) == 0 && read {
				return d, true
			}
			var fire <-chan time.Time
			if len(d.recs) > 0 {
				if timer == nil {
					timer = time.NewTimer(time.Until(deadline))
				}
				fire = timer.C
			}
			select {
			case <-stop:
				return nil, false
			case <-changed:
			case <-fire:
			}
			continue
		case errors.As(err, &ce):
			s.setAsideCorrupt(ce)
			r.Skip(ce)
			d.last, read = ce.SkipTo-1, true
			continue
		case err != nil:
			s.logger.Error("Could not read the spool; will try again", zap.String("directory", s.dir), zap.Error(err))
			if !sleep(stop, time.Second) {
				return nil, false
			}
			continue
		}
		if rec.Kind != spoollog.KindData {
			d.last, read = rec.Seq, true
			continue
		}
		v, err := s.codec.unmarshal(rec.Data)
		if err != nil {
			s.deadLetter(context.Background(), fmt.Sprintf("r%d", rec.Seq), rec.Seq, "undecodable", rec.Data, fmt.Errorf("the spooled request does not decode: %w", err))
			d.last, read = rec.Seq, true
			continue
		}
		n := s.codec.items(v)
		if len(d.recs) > 0 && d.items+n > s.cfg.Batch.MaxSize {
			c.carry = &carried[T]{seq: rec.Seq, v: v, items: n}
			return d, true
		}
		d.last, read = rec.Seq, true
		add(rec.Seq, v, n)
	}
	return d, true
}

// load reads the batch first..last back, to send it again.
func (c *batchCursor[T]) load(stop <-chan struct{}, first, last uint64) (*delivery[T], bool) {
	s := c.s
	d := &delivery[T]{first: first, last: last, data: s.codec.empty()}
	err := s.eachRequest(stop, first, last, func(seq uint64, v T) {
		d.items += s.codec.items(v)
		s.codec.moveInto(d.data, v)
		d.recs = append(d.recs, rawRecord{seq: seq})
	})
	return d, err == nil
}

// eachRequest decodes the requests among records first..last; records that
// do not decode are set aside. It fails only when stop closes.
func (s *spool[T]) eachRequest(stop <-chan struct{}, first, last uint64, f func(seq uint64, v T)) error {
	r := s.log.NewReader(first)
	defer func() { r.Close() }()
	for r.Seq() <= last {
		rec, err := r.Next()
		var ce *spoollog.CorruptError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &ce):
			s.setAsideCorrupt(ce)
			r.Skip(ce)
			continue
		case err != nil:
			s.logger.Error("Could not read the spool; will try again", zap.String("directory", s.dir), zap.Error(err))
			if !sleep(stop, time.Second) {
				return errStopped
			}
			r.Close()
			r = s.log.NewReader(r.Seq())
			continue
		}
		if rec.Kind != spoollog.KindData {
			continue
		}
		v, err := s.codec.unmarshal(rec.Data)
		if err != nil {
			s.deadLetter(context.Background(), fmt.Sprintf("r%d", rec.Seq), rec.Seq, "undecodable", rec.Data, fmt.Errorf("the spooled request does not decode: %w", err))
			continue
		}
		f(rec.Seq, v)
	}
	return nil
}

var errStopped = errors.New("stopping")

// setAsideCorrupt moves damaged spool bytes to the dead-letter directory.
func (s *spool[T]) setAsideCorrupt(ce *spoollog.CorruptError) {
	dir := filepath.Join(s.dir, "deadletter")
	path := filepath.Join(dir, fmt.Sprintf("%020d.damaged.bin", ce.Seq))
	err := os.MkdirAll(dir, 0o700)
	if err == nil && len(ce.Bytes) > 0 {
		err = os.WriteFile(path, ce.Bytes, 0o600)
	}
	s.tel.deadLetters.Add(context.Background(), int64(max(ce.SkipTo-ce.Seq, 1)), s.attrs(attribute.String("pipeline", "damaged")))
	s.logger.Error("Part of a spool segment is damaged (a disk error?) and cannot be read: its bytes are set aside and the spool goes on after them",
		zap.String("segment", ce.Path), zap.Uint64("first_record", ce.Seq), zap.Uint64("next_record", ce.SkipTo),
		zap.String("set_aside", path), zap.Error(ce.Err))
}
