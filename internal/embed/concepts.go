package embed

import "strings"

// Error concepts. Feature hashing knows spellings, not meanings: without
// help, "NullPointerException" (Java), "NullReferenceException" (.NET),
// "nil pointer dereference" (Go), "'NoneType' object has no attribute"
// (Python) and "Cannot read properties of undefined" (JavaScript) share
// little text although they are one kind of bug. A small, ecosystem-neutral
// table names the kinds that recur across languages; a message gets its
// kind's feature in the error-type group when its leading class is one of
// the kind's classes (then the kind leads and the class follows at
// conceptClassWeight) or, with no error class at all, when its words say it.
// A message that leads with any other class (an application's own
// "InventoryDBError: timed out …") is left to that class: the table never
// overrides what a service chose to call its error.
const conceptClassWeight = 0.35

type concept struct {
	name    string
	classes []string // lower-cased error class names
	phrases []string // lower-cased phrases, for messages without a class
}

var concepts = []concept{
	{"null_dereference",
		[]string{"nullpointerexception", "nullreferenceexception", "nullpointererror", "nilpointererror"},
		[]string{"nil pointer dereference", "null pointer dereference", "null pointer", "nil pointer", "nonetype' object", "nonetype object",
			"cannot read properties of null", "cannot read properties of undefined", "cannot read property", "undefined is not an object",
			"null is not an object", "attempt to index a nil value", "object reference not set to an instance"}},
	{"index_out_of_range",
		[]string{"indexoutofboundsexception", "arrayindexoutofboundsexception", "stringindexoutofboundsexception", "indexerror", "indexoutofrangeexception", "rangeerror"},
		[]string{"index out of range", "index out of bounds", "list index out of range", "slice bounds out of range"}},
	{"division_by_zero",
		[]string{"arithmeticexception", "zerodivisionerror", "dividebyzeroexception"},
		[]string{"divide by zero", "division by zero", "integer divide by zero"}},
	{"out_of_memory",
		[]string{"outofmemoryerror", "memoryerror", "outofmemoryexception"},
		[]string{"out of memory", "cannot allocate memory", "oomkilled", "heap out of memory"}},
	{"stack_overflow",
		[]string{"stackoverflowerror", "recursionerror", "stackoverflowexception"},
		[]string{"stack overflow", "maximum recursion depth", "goroutine stack exceeds"}},
	// Operational kinds: by class only. Their words ("timed out",
	// "connection refused") are everyday text inside applications' own
	// errors and in free-text queries, where a concept feature would pull a
	// query away from the typed errors it is looking for.
	{"connection_refused", []string{"connectexception", "connectionrefusederror"}, nil},
	{"timeout", []string{"timeoutexception", "sockettimeoutexception", "timeouterror"}, nil},
	{"permission_denied", []string{"accessdeniedexception", "permissionerror", "securityexception", "unauthorizedaccessexception"}, nil},
	{"file_not_found", []string{"filenotfoundexception", "filenotfounderror", "nosuchfileexception"}, nil},
}

// conceptHashes are the concepts' features, in their own namespace.
var conceptHashes = func() []uint64 {
	hs := make([]uint64, len(concepts))
	for i, c := range concepts {
		h := fnvByte(fnvOffset, 'k')
		for j := 0; j < len(c.name); j++ {
			h = fnvByte(h, c.name[j])
		}
		hs[i] = h
	}
	return hs
}()

// conceptOf returns the concept feature of a message: by its leading class
// (leadTok), or — untyped says the message has no error class — by its
// words. 0 when none applies.
func conceptOf(leadTok string, untyped bool, text string) uint64 {
	if leadTok != "" {
		lt := strings.ToLower(leadTok)
		for i, c := range concepts {
			for _, cl := range c.classes {
				if lt == cl || strings.HasSuffix(lt, "."+cl) {
					return conceptHashes[i]
				}
			}
		}
		return 0
	}
	if !untyped {
		return 0
	}
	lower := strings.ToLower(text)
	for i, c := range concepts {
		for _, p := range c.phrases {
			if strings.Contains(lower, p) {
				return conceptHashes[i]
			}
		}
	}
	return 0
}
