// Package backpressureprocessor is the `backpressure` processor: placed
// first in a pipeline, it answers the refusals of what follows it as the
// OTLP specification asks a server to throttle its senders — a retryable
// refusal that carries no status of its own (memory_limiter's "data
// refused due to high memory usage", a full queue) becomes
// RESOURCE_EXHAUSTED with a RetryInfo, which the OTLP receivers answer as
// HTTP 429 with Retry-After and SDKs back off on, instead of UNAVAILABLE
// (503) without a delay.
package backpressureprocessor // import "github.com/otelcol-agentic/otelcol-agentic/processor/backpressureprocessor"
