// Package layers holds the test that keeps the import graph layered: shared
// packages (internal/, schema/) never reach into a component, components
// never reach into each other, and the readers that do not host the engine
// (the MCP server, the exporters) do not link the chDB binding.
package layers
