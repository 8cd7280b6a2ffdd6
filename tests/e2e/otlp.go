package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// PostLogs sends logs to the collector as OTLP/HTTP protobuf.
func PostLogs(tb testing.TB, endpoint string, ld plog.Logs) {
	tb.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		tb.Fatal(err)
	}
	post(tb, "http://"+endpoint+"/v1/logs", body)
}

// PostTraces sends traces to the collector as OTLP/HTTP protobuf.
func PostTraces(tb testing.TB, endpoint string, td ptrace.Traces) {
	tb.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		tb.Fatal(err)
	}
	post(tb, "http://"+endpoint+"/v1/traces", body)
}

func post(tb testing.TB, url string, body []byte) {
	tb.Helper()
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatal(fmt.Errorf("POST %s: %s", url, resp.Status))
	}
}
