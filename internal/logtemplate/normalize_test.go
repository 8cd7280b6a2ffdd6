package logtemplate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var templateCases = []struct {
	name, in, want string
}{
	// Java
	{"java NPE helpful message", `java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null`,
		`java.lang.NullPointerException: Cannot invoke "String.length()" because "<*>" is null`},
	{"java stack frame", "\tat com.example.orders.OrderService.process(OrderService.java:123)",
		"at com.example.orders.OrderService.process(OrderService.java:<*>)"},
	{"java module frame", "\tat java.base/java.lang.Thread.run(Thread.java:833)",
		"at java.base/java.lang.Thread.run(Thread.java:<*>)"},
	{"java lambda frame", "\tat com.example.App$$Lambda$123/0x0000000800c0b000.apply(Unknown Source)",
		"at com.example.App$$Lambda$<*>.apply(Unknown Source)"},
	{"java generated accessor", "\tat sun.reflect.GeneratedMethodAccessor42.invoke(Unknown Source)",
		"at sun.reflect.<*>.invoke(Unknown Source)"},
	{"java more frames", "\t... 12 more", "... <*> more"},
	{"java pool timeout", "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30002ms.",
		"java.sql.SQLTransientConnectionException: <*> - Connection is not available, request timed out after <*>."},
	{"java identity hash", "java.util.concurrent.TimeoutException: Waited 5000 milliseconds for com.google.common.util.concurrent.SettableFuture@1b2c3d4e[status=PENDING]",
		"java.util.concurrent.TimeoutException: Waited <*> for com.google.common.util.concurrent.SettableFuture@<*>[status=<*>]"},
	{"java file not found", "Caused by: java.io.FileNotFoundException: /var/data/uploads/2024/01/15/report-8812.pdf (No such file or directory)",
		"Caused by: java.io.FileNotFoundException: <*> (No such file or directory)"},
	{"jackson backticks", "com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `java.util.ArrayList<com.example.Item>` from Object value (token `JsonToken.START_OBJECT`)",
		"com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `java.util.ArrayList<com.example.Item>` from Object value (token `JsonToken.START_OBJECT`)"},

	// Go
	{"go dial refused", "dial tcp 10.0.0.5:5432: connect: connection refused",
		"dial tcp <*>: connect: connection refused"},
	{"go read reset", "read tcp 10.1.2.3:44312->10.1.2.4:443: read: connection reset by peer",
		"read tcp <*>-><*>: read: connection reset by peer"},
	{"go ipv6", "dial tcp [2001:db8::8a2e:370:7334]:443: i/o timeout", "dial tcp [<*>]:<*>: i/o timeout"},
	{"go panic", "panic: runtime error: index out of range [5] with length 3",
		"panic: runtime error: index out of range [<*>] with length <*>"},
	{"go goroutine", "goroutine 42 [running]:", "goroutine <*> [running]:"},
	{"go frame file", "\t/home/build/go/src/app/handler.go:42 +0x1d", "<*>/handler.go:<*>"},
	{"go json type kept", "json: cannot unmarshal string into Go struct field User.age of type int64",
		"json: cannot unmarshal string into Go struct field User.age of type int64"},
	{"go x509 kept", "x509: certificate signed by unknown authority", "x509: certificate signed by unknown authority"},
	{"grpc nested message", `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial tcp 10.96.0.12:50051: connect: connection refused"`,
		`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial tcp <*>: connect: connection refused"`},
	{"go http client timeout", `Post "https://hooks.example.com/services/T000/B000/XXXX": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)`,
		`Post "https://hooks.example.com/services/<*>/XXXX": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)`},
	{"klog header", "E0301 12:00:01.123456   12345 reflector.go:138] k8s.io/client-go/informers/factory.go:134: Failed to watch *v1.Pod: unknown (get pods)",
		"<*> reflector.go:<*>] k8s.io/client-go/informers/factory.go:<*>: Failed to watch *v1.Pod: unknown (get pods)"},

	// Python
	{"python frame", `  File "/app/x.py", line 42, in handler`, `File "<*>/x.py", line <*>, in handler`},
	{"python site-packages frame", `  File "/usr/lib/python3.11/site-packages/requests/sessions.py", line 589, in request`,
		`File "<*>/sessions.py", line <*>, in request`},
	{"python key error", "KeyError: 'user_id'", "KeyError: 'user_id'"},
	{"python attribute error", "AttributeError: 'NoneType' object has no attribute 'split'",
		"AttributeError: 'NoneType' object has no attribute '<*>'"},
	{"python value error", "ValueError: invalid literal for int() with base 10: 'abc'",
		"ValueError: invalid literal for int() with base <*>: '<*>'"},

	// SQL
	{"postgres unique", `pq: duplicate key value violates unique constraint "orders_pkey"`,
		`pq: duplicate key value violates unique constraint "orders_pkey"`},
	{"postgres detail", "DETAIL:  Key (email)=(jane@example.com) already exists.", "DETAIL: Key (email)=(<*>) already exists."},
	{"postgres relation", `ERROR: relation "users" does not exist at character 15`, `ERROR: relation "<*>" does not exist at character <*>`},
	{"mysql deadlock", "ERROR 1213 (40001): Deadlock found when trying to get lock; try restarting transaction",
		"ERROR <*> (<*>): Deadlock found when trying to get lock; try restarting transaction"},

	// HTTP
	{"http client url", "GET https://api.example.com/v1/users/12345/orders failed: 503 Service Unavailable",
		"GET https://api.example.com/v1/users/<*>/orders failed: <*> Service Unavailable"},
	{"http route after method", "POST /api/v2/orders/9f8e7d6c-1234-4abc-9def-0123456789ab/items returned 500 Internal Server Error",
		"POST /api/v2/orders/<*>/items returned <*> Internal Server Error"},
	{"nginx upstream", `upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.7, server: api.example.com, request: "GET /v1/orders?id=42 HTTP/1.1", upstream: "http://10.0.0.8:8080/v1/orders?id=42", host: "api.example.com"`,
		`upstream timed out (<*>: Connection timed out) while reading response header from upstream, client: <*>, server: api.example.com, request: "GET /v1/orders?id=<*> HTTP/<*>", upstream: "http://<*>/v1/orders?id=<*>", host: "api.example.com"`},

	// Pools, timeouts, sizes, durations
	{"pool timeout", "timeout waiting for connection from pool after 5000ms (active=20, idle=0, waiting=13)",
		"timeout waiting for connection from pool after <*> (active=<*>, idle=<*>, waiting=<*>)"},
	{"sizes and durations", "uploaded 12KB in 250ms, total 1.5s", "uploaded <*> in <*>, total <*>"},
	{"unit words", "Block rdd_42_1 stored as bytes in memory (estimated size 935.0 B, free 807.4 KB)",
		"Block <*> stored as bytes in memory (estimated size <*>, free <*>)"},
	{"retry seconds", "Exceeded rate limit for key sk_live_51HxYzAbCdEf, retry in 30 seconds",
		"Exceeded rate limit for key <*>, retry in <*>"},

	// Ids, addresses, times
	{"uuid", "request 3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8 failed", "request <*> failed"},
	{"uuid all letters in groups", "job deadbeef-cafe-babe-face-abcdefabcdef lost", "job <*> lost"},
	{"trace ids in logfmt", `trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 msg="payment failed" err="card declined"`,
		`trace_id=<*> span_id=<*> msg="payment failed" err="card declined"`},
	{"bare trace id", "span abf92f3577b34da6a3ce929d0e0e4736 dropped", "span <*> dropped"},
	{"logfmt line", `level=error ts=2024-01-15T10:30:00.123Z caller=main.go:42 msg="failed to connect to db" err="dial tcp 10.0.0.5:5432: connect: connection refused"`,
		`level=error ts=<*> caller=main.go:<*> msg="failed to connect to db" err="dial tcp <*>: connect: connection refused"`},
	{"logfmt url value", "retrying request attempt=3 backoff=1.5s url=https://api.example.com/v2/items?page=7",
		"retrying request attempt=<*> backoff=<*> url=https://api.example.com/v2/items?page=<*>"},
	{"iso timestamp", "2024-01-15T10:30:00.123456+02:00 ERROR something broke", "<*> ERROR something broke"},
	{"unix date", "Mon Jan 15 10:30:00 UTC 2024 backup failed", "<*> UTC <*> backup failed"},
	{"common log date", "15/Jan/2024:10:30:00 +0000 request failed", "<*> request failed"},
	{"month word kept in prose", "May the force be with you", "May the force be with you"},
	{"email", "sending mail to john.doe@example.com failed: 550 mailbox unavailable",
		"sending mail to <*> failed: <*> mailbox unavailable"},
	{"host with digits", "Resolved MININT-FNANLI5.fareast.corp.microsoft.com to /default-rack", "Resolved <*> to /default-rack"},
	{"service host kept", "connection to redis-master.cache.svc.cluster.local:6379 lost",
		"connection to redis-master.cache.svc.cluster.local:<*> lost"},
	{"mac address", "Ido chip status changed: FF:F2:9F:16:EB:27:00:0D:60:E9:14:D8 ip=10.0.2.192", "Ido chip status changed: <*> ip=<*>"},
	{"pod name", "Back-off restarting failed container app in pod web-7d4b9c8f6-x2k9p_default(5a1b2c3d-4e5f-6789-abcd-ef0123456789)",
		"Back-off restarting failed container app in pod <*>(<*>)"},
	{"json body", `{"user":"bob","id":42,"error":"quota exceeded"}`, `{"user":"<*>","id":<*>,"error":"quota exceeded"}`},
	{"technical names kept", "Charset UTF-8 not supported; falling back to x86_64 build",
		"Charset UTF-8 not supported; falling back to x86_64 build"},
	{"camel case with digit kept", "Slf4jLogger started; HttpServer2 bound", "Slf4jLogger started; HttpServer2 bound"},

	// Accounts
	{"invalid user", "Invalid user admin from 1.2.3.4 port 22", "Invalid user <*> from <*> port <*>"},
	{"failed password", "Failed password for root from 1.2.3.4 port 22 ssh2", "Failed password for <*> from <*> port <*>"},
	{"failed password invalid user", "Failed password for invalid user oracle from 1.2.3.4 port 22 ssh2",
		"Failed password for invalid user <*> from <*> port <*>"},
	{"user phrase kept", "user not found", "user not found"},
	{"for outside auth kept", "waiting for connection from 10.0.0.1", "waiting for connection from <*>"},

	// Paths
	{"config path", "failed to open /etc/app/config.yaml: no such file or directory", "failed to open <*>: no such file or directory"},
	{"single segment path kept", "Web app /mapreduce started at 62267", "Web app /mapreduce started at <*>"},
	{"windows source path", `   at MyApp.Services.OrderService.ProcessOrder(Int32 orderId) in C:\build\src\MyApp\Services\OrderService.cs:line 87`,
		`at MyApp.Services.OrderService.ProcessOrder(Int32 orderId) in <*>\OrderService.cs:line <*>`},
	{"node enoent", "Error: ENOENT: no such file or directory, open '/srv/app/config/production.json'",
		"Error: ENOENT: no such file or directory, open '<*>'"},

	// Misc
	{"apostrophe is not a quote", "Can't find child 123 in scoreboard", "Can't find child <*> in scoreboard"},
	{"whitespace collapsed", "  a \t\n b\r\n", "a b"},
	{"empty", "", ""},
	{"only placeholder", "<*>", "<*>"},
}

func TestNormalizeTemplates(t *testing.T) {
	for _, tc := range templateCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Normalize(tc.in)
			if got.Template != tc.want {
				t.Errorf("Normalize(%q)\n got: %q\nwant: %q", tc.in, got.Template, tc.want)
			}
			if got.Hash != HashTemplate(got.Template) {
				t.Errorf("Hash %x != HashTemplate(Template) %x", got.Hash, HashTemplate(got.Template))
			}
			if again := Normalize(got.Template).Template; again != got.Template {
				t.Errorf("not idempotent: %q -> %q", got.Template, again)
			}
		})
	}
}

func TestSameEventSameHash(t *testing.T) {
	pairs := [][2]string{
		{"dial tcp 10.0.0.5:5432: connect: connection refused", "dial tcp 192.168.13.77:6432: connect: connection refused"},
		{`java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null`,
			`java.lang.NullPointerException: Cannot invoke "String.length()" because "<local4>" is null`},
		{"\tat com.example.Foo.bar(Foo.java:123)", "\tat com.example.Foo.bar(Foo.java:131)"},
		{`  File "/app/x.py", line 42, in handler`, `  File "/srv/releases/20240115/x.py", line 57, in handler`},
		{"GET https://api.example.com/v1/users/12345/orders failed: 503 Service Unavailable",
			"GET https://api.example.com/v1/users/987/orders failed: 502 Service Unavailable"},
		{"timeout waiting for connection from pool after 5000ms (active=20, idle=0, waiting=13)",
			"timeout waiting for connection from pool after 30s (active=8, idle=2, waiting=0)"},
		{"request 3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8 failed", "request 00000000-0000-4000-8000-000000000000 failed"},
		{"trace 4bf92f3577b34da6a3ce929d0e0e4736 slow", "trace abf92f3577b34da6a3ce929d0e0e4730 slow"},
		{"mail to a@example.com bounced", "mail to first.last+tag@mail.example.org bounced"},
		{"2024-01-15T10:30:00Z job done in 1.2 s", "2025-12-31T23:59:59.999Z job done in 350 ms"},
		{"Thu Aug 04 15:29:45 PDT 2005 reboot", "Fri Jul 01 08:16:53 PDT 2005 reboot"},
		{"stored block (size 330.0 B)", "stored block (size 12.5 MB)"},
		{"Invalid user admin from 1.2.3.4", "Invalid user test from 5.6.7.8"},
		{"Failed password for root from 1.2.3.4 port 22 ssh2", "Failed password for git from 5.6.7.8 port 2222 ssh2"},
		{"Found block rdd_42_1 locally", "Found block broadcast_40_piece0 locally"},
		{"BLOCK* ask 10.0.0.1:50010 to delete blk_1", "BLOCK* ask 10.0.0.2:50010 to delete blk_-2 blk_3 blk_4"},
		{"Resolved node-17.dc1.example.com to /rack", "Resolved ip-10-0-0-5.ec2.internal to /rack"},
	}
	for _, p := range pairs {
		a, b := Normalize(p[0]), Normalize(p[1])
		if a.Hash != b.Hash {
			t.Errorf("same event, different templates:\n %q -> %q\n %q -> %q", p[0], a.Template, p[1], b.Template)
		}
	}
}

func TestDifferentEventsDifferentHash(t *testing.T) {
	pairs := [][2]string{
		{"dial tcp 10.0.0.5:5432: connect: connection refused", "read tcp 10.0.0.5:5432: connection reset by peer"},
		{"connection refused", "connection reset by peer"},
		{"java.lang.NullPointerException: null", "java.lang.IllegalArgumentException: null"},
		{"java.net.SocketTimeoutException: Read timed out", "java.net.ConnectException: Connection refused"},
		{`pq: duplicate key value violates unique constraint "orders_pkey"`,
			`pq: duplicate key value violates unique constraint "users_email_key"`},
		{"\tat com.example.Foo.bar(Foo.java:123)", "\tat com.example.Foo.baz(Foo.java:123)"},
		{`  File "/app/x.py", line 42, in handler`, `  File "/app/y.py", line 42, in handler`},
		{"GET https://api.example.com/v1/users/1 failed", "GET https://billing.example.com/v1/users/1 failed"},
		{"json: cannot unmarshal string into Go value of type int64", "json: cannot unmarshal string into Go value of type uint8"},
		{"x509: certificate has expired", "tls: bad certificate"},
		{"Invalid user admin from 1.2.3.4", "Accepted password for admin from 1.2.3.4"},
		{"user not found", "user is locked"},
		{"mapred.task.id is deprecated", "mapred.job.id is deprecated"},
	}
	for _, p := range pairs {
		a, b := Normalize(p[0]), Normalize(p[1])
		if a.Hash == b.Hash {
			t.Errorf("different events, same template %q:\n %q\n %q", a.Template, p[0], p[1])
		}
	}
}

func TestHashTemplateStable(t *testing.T) {
	// Hashes are persisted; these values pin the algorithm (FNV-1a 64).
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0xcbf29ce484222325},
		{"a", 0xaf63dc4c8601ec8c},
		{"foobar", 0x85944171f73967e8},
	} {
		if got := HashTemplate(tc.in); got != tc.want {
			t.Errorf("HashTemplate(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeHostileInput(t *testing.T) {
	for _, in := range []string{
		"\x00\x00\x00",
		"abc\x00def 123",
		"\xff\xfe\xfd",
		"valid \xc3\x28 invalid \xe2\x82 truncated \xf0\x9f\x98",
		"\u00a0\u3000\u2028",
		strings.Repeat("'", 1000),
		strings.Repeat(`"a `, 1000),
		strings.Repeat("<*", 1000),
	} {
		r := Normalize(in)
		if !utf8.ValidString(r.Template) {
			t.Errorf("Normalize(%q) gave invalid UTF-8 %q", in, r.Template)
		}
		if strings.ContainsRune(r.Template, 0) {
			t.Errorf("Normalize(%q) kept a NUL byte: %q", in, r.Template)
		}
		if again := Normalize(r.Template).Template; again != r.Template {
			t.Errorf("not idempotent: %q -> %q -> %q", in, r.Template, again)
		}
	}
	if got := Normalize("abc\x00def 123").Template; got != "abc def <*>" {
		t.Errorf("NUL should separate words, got %q", got)
	}
	if got := Normalize("bad \xff byte").Template; got != "bad \uFFFD byte" {
		t.Errorf("invalid byte should become U+FFFD, got %q", got)
	}
}

func TestNormalizeIdempotentOnLoghub(t *testing.T) {
	bad := 0
	for _, sys := range loadLoghub(t) {
		for _, l := range sys.lines {
			r := Normalize(l.content)
			if again := Normalize(r.Template).Template; again != r.Template {
				bad++
				if bad <= 5 {
					t.Errorf("%s: not idempotent:\n in:  %q\n 1st: %q\n 2nd: %q", sys.name, l.content, r.Template, again)
				}
			}
		}
	}
}
