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

# The MCP client's configuration, with this checkout's absolute paths (it
# names the agent's password file, never the password).
mcp_config="${data}/claude_desktop_config.json"
sed -e "s|/absolute/path/to/otelcol-agentic/data/secrets|${secrets}|g" -e "s|/absolute/path/to/otelcol-agentic|${root}|g" \
  mcp/claude_desktop_config.json >"${mcp_config}"

first="${RUN_FIRST_FAULT:-90s}"
every="${RUN_FAULT_EVERY:-4m}"
browsers="${RUN_BROWSERS:-2}"
cat <<EOT

== Look at it in HyperDX (UI on port 8089) ==========================================
  docker compose -f hyperdx/docker-compose.yml up      # in another shell; first build takes minutes
  open http://localhost:8089 and, the first time, enter the viewer password under
  Team Settings -> Connections -> otelcol-agentic:   cat ${secrets}/clickhouse-viewer
  Search (logs, traces), Client Sessions (the ${browsers} browsers' recorded visits, with replay).
  More: hyperdx/README.md

== Ask Claude (or any MCP client) ====================================================
  Claude Desktop: merge ${mcp_config}
    into ~/Library/Application Support/Claude/claude_desktop_config.json (macOS),
    %APPDATA%\Claude\claude_desktop_config.json (Windows); restart it.
  Claude Code:
    claude mcp add otelcol-agentic -e CLICKHOUSE_USER=agent -e CLICKHOUSE_PASSWORD_FILE=${secrets}/clickhouse-agent \\
      -- ${root}/build/agentic-mcp --collector-config ${root}/otelcol-config.yaml
  Any MCP client over stdio: the same command and environment; over HTTP:
    CLICKHOUSE_USER=agent CLICKHOUSE_PASSWORD_FILE=${secrets}/clickhouse-agent \\
      build/agentic-mcp --collector-config otelcol-config.yaml --http 127.0.0.1:8090   # then http://127.0.0.1:8090/mcp
  Then ask, once a fault window has opened:
    "Something went wrong in the shop in the last 15 minutes. Which service is the root cause,
     what is the evidence, and how many users' sessions did it hit?"

== Load ===============================================================================
  ${RUN_RATE:-5} journeys/s over HTTP and ${browsers} headless Chromium browsers walking the shop's pages;
  the first fault window opens ${first} after the start, then one every ${every} (the seed's random
  trigger rates as well); set RUN_FIRST_FAULT, RUN_FAULT_EVERY, RUN_BROWSERS, RUN_RATE to change.
  Ground truth (what was injected, when): ${data}/ground_truth.jsonl — don't peek before asking Claude.
  try:  curl -u viewer:\$(cat ${secrets}/clickhouse-viewer) 'http://127.0.0.1:8123/?query=SELECT+ServiceName,count()+FROM+agentic_otel.otel_logs+GROUP+BY+1'

EOT
build/loadgen --duration 0 --rate "${RUN_RATE:-5}" --admin http://127.0.0.1:8085 --ground-truth "${data}/ground_truth.jsonl" \
  --first-fault "${first}" --fault-every "${every}" --browsers "${browsers}" &
pids+=($!)
wait "${pids[2]}"
