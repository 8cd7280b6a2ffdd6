package mcp

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Window and time arguments come from the model: any text is either a
// bounded window or an actionable error, never a panic.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"1h", "15m", "7d", "2w", "1.5h", "1h30m", "", "0", "-5m", "9999999999d", "1e9h", "PT1H"} {
		f.Add(s, "")
	}
	f.Add("1h", "2026-05-01T12:00:00Z")
	f.Add("1h", "2026-05-01 12:00")
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, length, end string) {
		w, err := parseWindow(length, end, time.Hour, 7*24*time.Hour, now)
		if err != nil {
			return
		}
		d := w.End.Sub(w.Start)
		if d < time.Minute || d > 7*24*time.Hour {
			t.Fatalf("window %q gave %s", length, d)
		}
	})
}

// Parameter values are escaped for ClickHouse's text format: nothing in a
// value can end it early.
func FuzzParamEscaping(f *testing.F) {
	for _, s := range []string{"x' OR 1=1 --", `a\`, "a\tb\nc", "\x00", "{service:String}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := params{}.str("v", s)
		got := unescapeParam(p["v"])
		if got != s {
			t.Fatalf("%q escaped to %q reads back as %q", s, p["v"], got)
		}
	})
}

// unescapeParam reads a value as ClickHouse's escaped format does.
func unescapeParam(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case '0':
			out = append(out, 0)
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

// Whatever a column holds, its value encodes as JSON.
func FuzzJSONValue(f *testing.F) {
	f.Add(1.5, "x", int64(3))
	f.Fuzz(func(t *testing.T, x float64, s string, n int64) {
		for _, v := range []any{x, float32(x), s, n, []float64{x, x}, map[string]float64{s: x}, &s, []*float64{&x, nil}} {
			if _, err := json.Marshal(jsonValue(reflect.ValueOf(v))); err != nil {
				t.Fatalf("%#v: %v", v, err)
			}
		}
	})
}
