// Drives agentic-mcp with the official MCP TypeScript SDK client, over stdio
// (as Claude Desktop launches it) and over streamable HTTP, and prints what
// it saw as JSON for the Go test to check.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, target] = process.argv.slice(2);

async function exercise(transport) {
  const client = new Client({ name: 'compat-test', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  const select = await client.callTool({ name: 'run_select_query', arguments: { sql: 'SELECT 41 + 1 AS answer' } });
  const drop = await client.callTool({ name: 'run_select_query', arguments: { sql: 'DROP TABLE agentic_otel.otel_logs' } });
  const similar = await client.callTool({ name: 'find_similar_errors', arguments: { text: 'java.lang.NullPointerException in getUserById' } });
  const { prompts } = await client.listPrompts();
  await client.close();
  return {
    tools: tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint === true })),
    select: { isError: select.isError === true, text: select.content.map((c) => c.text).join('\n') },
    drop: { isError: drop.isError === true, text: drop.content.map((c) => c.text).join('\n') },
    similar: { isError: similar.isError === true },
    prompts: prompts.map((p) => p.name),
  };
}

let transport;
if (mode === 'stdio') {
  transport = new StdioClientTransport({ command: target, args: [], env: { ...process.env }, stderr: 'inherit' });
} else {
  transport = new StreamableHTTPClientTransport(new URL(target));
}
const result = await exercise(transport);
process.stdout.write(JSON.stringify(result) + '\n');
