package mcp

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timeWindow is [Start, End).
type timeWindow struct {
	Start, End time.Time
}

// Window is how answers report a time range.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (w timeWindow) out() Window { return Window{Start: w.Start.UTC(), End: w.End.UTC()} }

// previous is the window of the same length just before w.
func (w timeWindow) previous() timeWindow {
	return timeWindow{Start: w.Start.Add(-w.End.Sub(w.Start)), End: w.Start}
}

var durationRe = regexp.MustCompile(`^(\d+(?:\.\d+)?)(s|m|h|d|w)$`)

// parseDuration reads "90s", "15m", "1h", "2.5h", "7d", "2w", or anything
// time.ParseDuration reads ("1h30m").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if m := durationRe.FindStringSubmatch(s); m != nil {
		f, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		if f > 0 && f*float64(unit) < float64(1<<62) {
			return time.Duration(f * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration: use e.g. 15m, 1h, 24h, 7d", s)
	}
	return d, nil
}

// parseWindow reads a tool's window ("1h": the last hour) and optional end
// (RFC 3339; default now), within [1 minute, maxLen].
func parseWindow(length, end string, def, maxLen time.Duration, now time.Time) (timeWindow, error) {
	d := def
	if strings.TrimSpace(length) != "" {
		var err error
		if d, err = parseDuration(length); err != nil {
			return timeWindow{}, userErrorf("window: %v", err)
		}
	}
	if d < time.Minute {
		return timeWindow{}, userErrorf("window %s is too short: use at least 1m", d)
	}
	if d > maxLen {
		return timeWindow{}, userErrorf("window %s is longer than this tool allows (%s): narrow it, or aggregate with run_select_query", d, maxLen)
	}
	e := now
	if strings.TrimSpace(end) != "" {
		t, err := parseTime(end)
		if err != nil {
			return timeWindow{}, err
		}
		e = t
	}
	return timeWindow{Start: e.Add(-d), End: e}, nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, userErrorf("end %q is not a time: use RFC 3339 such as 2026-05-01T14:30:00Z", s)
}
