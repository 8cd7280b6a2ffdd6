#!/usr/bin/env bash
# `make run`: the collector on the embedded ClickHouse engine, the sample
# shop and a steady background load, together; Ctrl-C stops them all.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "${root}"
data="${OTELCOL_AGENTIC_DATA:-${root}/data}"
mkdir -p "${data}/logs"
export OTELCOL_AGENTIC_DATA="${data}"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping ..."
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
  echo "stopped; data kept in ${data}"
}
trap stop INT TERM EXIT

echo "collector: OTLP 127.0.0.1:4317/4318, ClickHouse HTTP http://127.0.0.1:8123, log ${data}/logs/collector.log"
build/otelcol-agentic --config otelcol-config.yaml >"${data}/logs/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  if curl -fsS http://127.0.0.1:13133/ >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "the collector exited; see ${data}/logs/collector.log" >&2; tail -20 "${data}/logs/collector.log" >&2; exit 1; fi
  sleep 0.5
done

# The collector generated the ClickHouse users' passwords at its first start.
secrets="${data}/secrets"
admin_pw="${CLICKHOUSE_PASSWORD:-$(cat "${secrets}/clickhouse-admin")}"
admin_from="${secrets}/clickhouse-admin"
if [[ -n "${CLICKHOUSE_PASSWORD:-}" ]]; then admin_from='$CLICKHOUSE_PASSWORD'; fi
cat <<EOT
ClickHouse users at http://127.0.0.1:8123 (passwords generated into ${secrets}/, mode 0600):
  admin  / ${admin_pw}
         the collector's exporters (contrib clickhouse, clickhouse/sessions, clickhouse_vector); from ${admin_from}
  viewer / $(cat "${secrets}/clickhouse-viewer")
         HyperDX (hyperdx/README.md: connection http://127.0.0.1:8123, UI on http://localhost:8089) and people; readonly=2
  agent  / $(cat "${secrets}/clickhouse-agent")
         the MCP server: CLICKHOUSE_USER=agent CLICKHOUSE_PASSWORD_FILE=${secrets}/clickhouse-agent build/agentic-mcp; readonly=1 within budgets
EOT

echo "sample shop: http://127.0.0.1:8080 (services on 127.0.0.1:8081-8084, fault admin API on 127.0.0.1:8085), log ${data}/logs/sampleapp.log"
build/sampleapp --data-dir "${data}/sampleapp" --admin 127.0.0.1:8085 >"${data}/logs/sampleapp.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  if curl -fsS http://127.0.0.1:8080/ >/dev/null 2>&1; then break; fi
  sleep 0.5
done

echo "load: ${RUN_RATE:-5} journeys/s with the seed's failures injected now and then; ground truth in ${data}/ground_truth.jsonl"
echo "try:  curl -u viewer:\$(cat ${secrets}/clickhouse-viewer) 'http://127.0.0.1:8123/?query=SELECT+ServiceName,count()+FROM+agentic_otel.otel_logs+GROUP+BY+1'"
build/loadgen --duration 0 --rate "${RUN_RATE:-5}" --admin http://127.0.0.1:8085 --ground-truth "${data}/ground_truth.jsonl" &
pids+=($!)
wait "${pids[2]}"
