package logtemplate

// FNV-1a 64 parameters. The hash is persisted by callers (it keys templates
// in storage and is shown to users), so it must not depend on the Go version
// or on process-level seeding the way hash/maphash does; FNV-1a is tiny,
// fully specified and fast enough for templates of a few hundred bytes.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// HashTemplate returns the stable 64-bit hash of a template (FNV-1a 64 over
// its bytes). Normalize(x).Hash == HashTemplate(Normalize(x).Template).
func HashTemplate(template string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(template); i++ {
		h ^= uint64(template[i])
		h *= fnvPrime64
	}
	return h
}
