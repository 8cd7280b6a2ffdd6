package demo

// The parts of the MCP tools' structured answers the demo and the eval read
// (mcp/testdata/tools.json has the full schemas).

type window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type knownPattern struct {
	Signature    string  `json:"signature"`
	Service      string  `json:"service"`
	ErrorMessage string  `json:"error_message"`
	RootCause    string  `json:"root_cause"`
	Resolution   string  `json:"resolution"`
	Occurrences  int     `json:"occurrence_count"`
	Distance     float64 `json:"distance"`
	Similarity   float64 `json:"similarity"`
}

// RCAAnswer is analyze_root_cause's answer.
type RCAAnswer struct {
	Window  window `json:"window"`
	Symptom struct {
		Description    string `json:"description"`
		FailingTraces  int    `json:"failing_traces"`
		FailingSampled int    `json:"failing_traces_sampled"`
	} `json:"symptom"`
	Candidates []RCACandidate `json:"candidates"`
	NextSteps  []string       `json:"next_steps"`
	Notice     string         `json:"notice"`
}

// RCACandidate is one ranked root-cause candidate.
type RCACandidate struct {
	Rank       int     `json:"rank"`
	Service    string  `json:"service"`
	Operation  string  `json:"operation"`
	Kind       string  `json:"kind"`
	Score      float64 `json:"score"`
	Confidence string  `json:"confidence"`
	Summary    string  `json:"summary"`
	Evidence   struct {
		Share       float64 `json:"deepest_share"`
		Errors      int     `json:"errors"`
		Requests    int     `json:"requests"`
		ErrorRate   float64 `json:"error_rate"`
		StartedAt   *string `json:"started_at"`
		Propagation []struct {
			Hops   []string `json:"hops"`
			Traces int      `json:"traces"`
		} `json:"propagation"`
		Messages []struct {
			Text  string `json:"text"`
			Count int    `json:"count"`
		} `json:"messages"`
		Metrics []struct {
			Metric string `json:"metric"`
			Change string `json:"change"`
			State  string `json:"state"`
			Note   string `json:"note"`
		} `json:"metrics"`
		ExampleTraceIDs []string `json:"example_trace_ids"`
	} `json:"evidence"`
	KnownPatterns []knownPattern `json:"known_patterns"`
}

// ErrorSummary is error_summary's answer.
type ErrorSummary struct {
	Window   window `json:"window"`
	Spikes   []string
	Services []struct {
		Service         string  `json:"service"`
		Spike           bool    `json:"spike"`
		ErrorLogs       int     `json:"error_logs"`
		ErrorLogsChange string  `json:"error_logs_change"`
		Requests        int     `json:"requests"`
		FailedRequests  int     `json:"failed_requests"`
		ErrorRate       float64 `json:"error_rate"`
		TopTemplates    []struct {
			Template        string   `json:"template"`
			Severity        string   `json:"severity"`
			Count           int      `json:"count"`
			Change          string   `json:"change"`
			New             bool     `json:"new"`
			FirstSeen       string   `json:"first_seen"`
			LastSeen        string   `json:"last_seen"`
			ExampleTraceIDs []string `json:"example_trace_ids"`
		} `json:"top_templates"`
	} `json:"services"`
}

// SimilarErrors is find_similar_errors' answer.
type SimilarErrors struct {
	// LowConfidence: nothing matched confidently; Hits are the closest few.
	LowConfidence bool `json:"low_confidence"`
	Query         struct {
		Source    string   `json:"source"`
		Templates []string `json:"templates"`
		Model     string   `json:"model"`
	} `json:"query"`
	Hits []struct {
		Template        string   `json:"template"`
		Service         string   `json:"service"`
		ExampleBody     string   `json:"example_body"`
		Distance        float64  `json:"distance"`
		Similarity      float64  `json:"similarity"`
		Occurrences     int      `json:"occurrences"`
		FirstSeen       string   `json:"first_seen"`
		LastSeen        string   `json:"last_seen"`
		ExampleTraceIDs []string `json:"example_trace_ids"`
	} `json:"hits"`
	Notice string `json:"notice"`
}

// Patterns is match_error_patterns' answer.
type Patterns struct {
	Patterns []knownPattern `json:"patterns"`
	Notice   string         `json:"notice"`
}

// Anomalies is detect_anomalous_traces' answer.
type Anomalies struct {
	Window          window         `json:"window"`
	TracesInWindow  int            `json:"traces_in_window"`
	AnomalousInWin  int            `json:"anomalous_in_window"`
	AnomalousByType map[string]int `json:"anomalous_by_type"`
	Top             []struct {
		TraceID       string  `json:"trace_id"`
		Timestamp     string  `json:"timestamp"`
		Service       string  `json:"service"`
		RootOperation string  `json:"root_operation"`
		SpanSequence  string  `json:"span_sequence"`
		DurationMS    float64 `json:"duration_ms"`
		SpanCount     int     `json:"span_count"`
		ErrorCount    int     `json:"error_count"`
		AnomalyScore  float64 `json:"anomaly_score"`
		IsAnomaly     bool    `json:"is_anomaly"`
		AnomalyType   string  `json:"anomaly_type"`
	} `json:"top"`
	Notice string `json:"notice"`
}

// Trace is get_trace's answer.
type Trace struct {
	TraceID    string   `json:"trace_id"`
	DurationMS float64  `json:"duration_ms"`
	ErrorCount int      `json:"error_count"`
	SpanCount  int      `json:"span_count"`
	Services   []string `json:"services"`
	Text       string   `json:"text"`
	Spans      []struct {
		Depth         int     `json:"depth"`
		Service       string  `json:"service"`
		Name          string  `json:"name"`
		DurationMS    float64 `json:"duration_ms"`
		Status        string  `json:"status"`
		StatusMessage string  `json:"status_message"`
		Logs          []struct {
			Severity string `json:"severity"`
			Body     string `json:"body"`
		} `json:"logs"`
	} `json:"spans"`
	Notice string `json:"notice"`
}

// Session is get_session's answer.
type Session struct {
	Session *struct {
		SessionID  string `json:"session_id"`
		Browser    string `json:"browser"`
		PageViews  int    `json:"page_views"`
		ErrorCount int    `json:"error_count"`
		TraceCount int    `json:"trace_count"`
	} `json:"session"`
	Replay *struct {
		Available  bool   `json:"available"`
		Events     int    `json:"events"`
		HowToWatch string `json:"how_to_watch"`
	} `json:"replay"`
	Notice string `json:"notice"`
}
