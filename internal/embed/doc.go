// Package embed turns short texts — log templates, error messages, span
// sequences rendered as text, and the free-text queries an agent asks the MCP
// server — into L2-normalised float32 vectors for nearest-neighbour search in
// ClickHouse.
//
// The collector's embedding processor and the MCP server both build their
// Embedder from the same Config, so that stored vectors and query vectors come
// from the same model: a cosine distance between vectors of two different
// models is meaningless, which is also why Model() is recorded next to every
// stored vector.
//
// Two providers exist:
//
//   - "hash" (the default) needs no network, no model files and no GPU. It
//     hashes word tokens, their camelCase/snake_case sub-words and character
//     n-grams into a fixed number of signed buckets. It knows nothing about
//     meaning, but log templates that share identifiers and vocabulary land
//     close together, which is what "have we seen an error like this" needs.
//     The exception or error class a message leads with ("InventoryDBError:
//     …") gets its own share of the vector (LeadingErrorType), so errors of
//     one type cluster and errors of different types stay apart however alike
//     their wording; a wrapped cause counts less.
//     Its output is a pure function of the text and the dimension, so vectors
//     written by one process can be queried by another.
//   - "openai" calls any OpenAI-compatible embeddings endpoint (OpenAI, Azure
//     OpenAI, Ollama, vLLM, Hugging Face TEI) with batching, bounded
//     concurrency, per-request timeouts and retries that honour Retry-After.
//
// Cached puts an LRU in front of either, keyed by the log template hash:
// errors repeat, so most records of a busy service hit the cache and the
// provider sees each template once.
//
// Empty input: a text with nothing to embed (empty, only whitespace, only
// template placeholders such as "<*>" for the hash provider) maps to
// EmptyVector(dims), a fixed unit vector, rather than to all zeros, because a
// zero vector makes cosine distance 0/0 = NaN in ClickHouse and would poison
// ORDER BY. Callers should skip empty bodies instead of storing that vector.
//
// Vectors returned by any Embedder in this package may be shared (Cached hands
// the same slice to every caller that asks for the same key): treat them as
// read-only.
package embed
