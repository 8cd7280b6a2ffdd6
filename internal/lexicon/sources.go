package lexicon

// SourceID names where a spelling comes from.
type SourceID uint8

// The sources. Every spelling in the lexicon is one of these.
const (
	Errno      SourceID = iota + 1 // Linux errno names and strerror texts
	Signal                         // POSIX signal names and strsignal texts
	GlibcKo                        // GNU libc's Korean translation of those texts
	HTTP                           // HTTP status codes and reason phrases
	MDNKo                          // MDN Web Docs' Korean HTTP status reference
	GRPC                           // gRPC status codes
	Java                           // Java SE and Jakarta EE exception classes
	Go                             // Go runtime and standard library error texts
	Python                         // Python's built-in exceptions and standard library
	DotNet                         // .NET base class library exceptions and messages
	DotNetKo                       // .NET's Korean exception messages
	WinsockKo                      // Windows Sockets' Korean error messages
	Node                           // Node.js and V8 error codes and messages
	Postgres                       // PostgreSQL SQLSTATE conditions and messages
	MySQL                          // MySQL server and client error messages
	SQLite                         // SQLite result codes and messages
	Pools                          // connection pool libraries' errors
	Kubernetes                     // Kubernetes pod and container states
	Payments                       // card payment decline reasons
	OWASP                          // OWASP attack descriptions
	Hardware                       // Linux EDAC / machine-check terms
	Ops                            // SRE and operations usage
	KoIT                           // Korean IT usage
)

// Source describes a source.
type Source struct {
	ID    SourceID
	Name  string
	Where string // where to read it
}

// Sources lists every source with where its spellings can be checked.
var Sources = []Source{
	{Errno, "Linux errno", "errno(3) and the strerror() texts of glibc (man7.org/linux/man-pages/man3/errno.3.html)"},
	{Signal, "POSIX signals", "signal(7) and the strsignal() texts of glibc (man7.org/linux/man-pages/man7/signal.7.html)"},
	{GlibcKo, "glibc Korean", "GNU libc po/ko.po: the Korean translations of strerror() and strsignal() texts"},
	{HTTP, "HTTP status codes", "RFC 9110 §15 and the IANA HTTP Status Code Registry"},
	{MDNKo, "MDN Korean", "MDN Web Docs, HTTP 상태 코드 (developer.mozilla.org/ko/docs/Web/HTTP/Reference/Status)"},
	{GRPC, "gRPC status codes", "grpc/grpc doc/statuscodes.md and google.golang.org/grpc/codes"},
	{Java, "Java exceptions", "Java SE API (java.lang, java.io, java.net, java.sql, java.util.concurrent) and Jakarta Persistence"},
	{Go, "Go errors", "Go runtime panics and standard library errors (context, net, io, encoding/json, database/sql, net/http)"},
	{Python, "Python exceptions", "docs.python.org/3/library/exceptions.html, json, asyncio"},
	{DotNet, ".NET exceptions", "learn.microsoft.com .NET API reference (System, System.IO, System.Net, System.Data, EF Core)"},
	{DotNetKo, ".NET Korean messages", ".NET's ko-KR exception messages as printed by the runtime (learn.microsoft.com/ko-kr)"},
	{WinsockKo, "Windows Sockets Korean", "Windows Sockets error codes, ko-KR messages (learn.microsoft.com/ko-kr/windows/win32/winsock)"},
	{Node, "Node.js errors", "nodejs.org/api/errors.html (system errors, common codes) and V8's TypeError/RangeError/SyntaxError texts"},
	{Postgres, "PostgreSQL", "PostgreSQL documentation, Appendix A. PostgreSQL Error Codes, and the server's messages for them"},
	{MySQL, "MySQL", "MySQL Server and Client Error Message Reference"},
	{SQLite, "SQLite", "sqlite.org/rescode.html"},
	{Pools, "Connection pools", "HikariCP, SQLAlchemy QueuePool, .NET SqlClient, Apache Commons DBCP, PgBouncer and Redis error texts"},
	{Kubernetes, "Kubernetes", "kubernetes.io: pod lifecycle, container states and termination reasons"},
	{Payments, "Card payments", "card networks' decline reasons as payment APIs publish them (e.g. Stripe's decline codes)"},
	{OWASP, "OWASP", "owasp.org: SQL Injection and Cross Site Scripting attack descriptions"},
	{Hardware, "Hardware errors", "Linux kernel EDAC and machine-check (MCE) documentation"},
	{Ops, "Operations usage", "terms of the SRE literature (Google SRE book: Handling Overload, Addressing Cascading Failures) and everyday operations English"},
	{KoIT, "Korean IT usage", "Korean as Korean developers write these failures: Sino-Korean terms and loanwords (e.g. 시간 초과 and 타임아웃), checked against the Korean texts of the sources above"},
}

// SourceOf returns a source's description.
func SourceOf(id SourceID) (Source, bool) {
	for _, s := range Sources {
		if s.ID == id {
			return s, true
		}
	}
	return Source{}, false
}
