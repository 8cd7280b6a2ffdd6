package rrwebreceiver

import (
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"
)

// FuzzDecodeBatch feeds arbitrary bodies to the /rrweb decoder: it must
// answer an error or produce well-formed session logs, never panic.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(jsonBatch("s", sampleEvents(), `,"trace_ids":["4bf92f3577b34da6a3ce929d0e0e4736"]`))
	f.Add(jsonBatch("s", []string{`{"type":3,"data":{"source":5,"text":"ü€","isChecked":true},"timestamp":1.5}`}, ""))
	f.Add([]byte(`{"session_id":"s","service_name":"w","events":[{"type":2,"timestamp":1,"data":{"node":{"tagName":"input","attributes":{"value":"x"}}}}]}`))
	f.Add([]byte(`{"session_id":"","events":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := rrweb.DecodeBatch(body, 1000)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		ld := batchToLogs(b, newSessionCounters(), rrweb.NewScrubber())
		recs := records(ld)
		if len(recs) < len(b.Events) {
			t.Fatalf("%d records for %d events", len(recs), len(b.Events))
		}
		events := 0
		for _, lr := range recs {
			for _, k := range []string{rrweb.AttrOffset, rrweb.AttrEvent, rrweb.AttrChunk, rrweb.AttrTotalChunks} {
				if _, ok := rrweb.ParseNumber(attr(lr.Attributes(), k)); !ok {
					t.Fatalf("%s is %q", k, attr(lr.Attributes(), k))
				}
			}
			if attr(lr.Attributes(), rrweb.AttrChunk) == attr(lr.Attributes(), rrweb.AttrTotalChunks) {
				events++
			}
			if utf8.Valid(body) && !utf8.ValidString(lr.Body().Str()) {
				t.Fatalf("invalid UTF-8 body from valid input: %q", lr.Body().Str())
			}
		}
		if events != len(b.Events) {
			t.Fatalf("%d complete events, want %d", events, len(b.Events))
		}
		for _, e := range b.Events {
			if e.Source() == rrweb.SourceInput {
				raw, _ := rrweb.Scrub(e)
				if strings.Contains(string(raw), `"text":"`) && !strings.Contains(string(raw), `"text":"*`) && !strings.Contains(string(raw), `"text":""`) {
					ev, err := rrweb.Parse(raw)
					if err == nil && ev.Source() == rrweb.SourceInput {
						t.Fatalf("input text left unmasked: %s", raw)
					}
				}
			}
		}
	})
}

// FuzzOTLPLogs feeds arbitrary protobuf bodies to the /v1/logs decoder.
func FuzzOTLPLogs(f *testing.F) {
	pb, err := plogotlp.NewExportRequestFromLogs(recorderLogs("s", sampleEvents())).MarshalProto()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pb, false)
	js, err := plogotlp.NewExportRequestFromLogs(recorderLogs("s", sampleEvents()[:2])).MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(js, true)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"rum.rr-web"},"logRecords":[{"body":{"stringValue":"{}"}}]}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		enc := encProto
		if isJSON {
			enc = encJSON
		}
		req, err := decodeLogsRequest(enc, body)
		if err != nil {
			return
		}
		res, err := normalizeLogs(req.Logs(), normalizeOptions{maxRecords: 1000, counters: newSessionCounters()})
		if err != nil {
			if statusOf(err) < 400 || statusOf(err) > 499 {
				t.Fatalf("status %d for %v", statusOf(err), err)
			}
			return
		}
		for i := 0; i < res.logs.ResourceLogs().Len(); i++ {
			rl := res.logs.ResourceLogs().At(i)
			if attr(rl.Resource().Attributes(), rrweb.ResourceSessionID) == "" {
				t.Fatal("session logs without a session id")
			}
			sl := rl.ScopeLogs().At(0)
			if sl.Scope().Name() != rrweb.ScopeName {
				t.Fatalf("scope %q", sl.Scope().Name())
			}
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				if _, ok := rrweb.ParseNumber(attr(lr.Attributes(), rrweb.AttrChunk)); !ok {
					t.Fatalf("chunk %q", attr(lr.Attributes(), rrweb.AttrChunk))
				}
			}
		}
		if _, err := plogotlp.NewExportRequestFromLogs(res.logs).MarshalProto(); err != nil {
			t.Fatalf("output does not encode: %v", err)
		}
	})
}
