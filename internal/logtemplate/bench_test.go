package logtemplate

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// benchLines are used when the Loghub sample is not available.
var benchLines = []string{
	"connection to 10.0.0.5:5432 timed out after 250ms",
	`java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null`,
	"\tat com.example.orders.OrderService.process(OrderService.java:123)",
	`  File "/app/handlers/orders.py", line 42, in handler`,
	`pq: duplicate key value violates unique constraint "orders_pkey"`,
	"GET https://api.example.com/v1/users/12345/orders failed: 503 Service Unavailable",
	"timeout waiting for connection from pool after 5000ms (active=20, idle=0, waiting=13)",
	"dial tcp 10.0.0.5:5432: connect: connection refused",
	"request 3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8 failed trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
	"Failed password for invalid user admin from 103.99.0.122 port 64031 ssh2",
	"Block rdd_42_1 stored as bytes in memory (estimated size 935.0 B, free 807.4 KB)",
	"PacketResponder 1 for block blk_38865049064139660 terminating",
}

func benchCorpus(b *testing.B) []string {
	if _, ok := loghubDir(); !ok || os.Getenv("LOGTEMPLATE_BENCH_FIXED") != "" {
		return benchLines
	}
	var lines []string
	for _, sys := range loadLoghub(b) {
		for _, l := range sys.lines {
			lines = append(lines, l.content)
		}
	}
	return lines
}

func BenchmarkNormalize(b *testing.B) {
	lines := benchCorpus(b)
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hashSink += Normalize(lines[i%len(lines)]).Hash
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(bytes)/float64(len(lines)), "bytes/line")
}

var hashSink uint64

func BenchmarkHashTemplate(b *testing.B) {
	t := Normalize(benchLines[0]).Template
	b.SetBytes(int64(len(t)))
	for i := 0; i < b.N; i++ {
		hashSink += HashTemplate(t)
	}
}

// BenchmarkNormalizeAdversarial reports the cost per byte of long lines
// built from repeated adversarial patterns, at 16 KiB and at 256 KiB: the
// two figures stay close when the scan is linear (speed is measured here,
// not asserted in a test).
func BenchmarkNormalizeAdversarial(b *testing.B) {
	patterns := []string{
		" 'a", `"a `, "1:", "a:", "/x=", "=/x", "a.", "a@", "user ", "Aug ", "<*>", "a=", "-1", "_a",
		"\u00a0a", "\xff", "password for ", "([{", `'\`, "1", "a", "a-1.", "x=/a/b?",
	}
	for _, size := range []int{1 << 14, 1 << 18} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			lines := make([]string, len(patterns))
			total := 0
			for i, p := range patterns {
				lines[i] = strings.Repeat(p, size/len(p))
				total += len(lines[i])
			}
			b.ResetTimer()
			for range b.N {
				for _, l := range lines {
					Normalize(l)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(total), "ns/byte")
		})
	}
}

// BenchmarkTemplatingReplay is the whole templating step of the pipeline
// on the public Loghub samples replayed 100 times, one goroutine: today's
// stateless Normalize, and the Miner (Normalize, then the parse cache or the
// parse tree) starting empty on each op. lines/s is per core.
func BenchmarkTemplatingReplay(b *testing.B) {
	lines := benchCorpus(b)
	const replays = 100
	b.Run("normalize", func(b *testing.B) {
		for range b.N {
			for range replays {
				for _, l := range lines {
					hashSink += Normalize(l).Hash
				}
			}
		}
		b.ReportMetric(float64(b.N*replays*len(lines))/b.Elapsed().Seconds(), "lines/s")
	})
	b.Run("miner", func(b *testing.B) {
		for range b.N {
			m := NewMiner(MinerConfig{})
			for range replays {
				for _, l := range lines {
					hashSink += m.Add(l).Hash
				}
			}
		}
		b.ReportMetric(float64(b.N*replays*len(lines))/b.Elapsed().Seconds(), "lines/s")
	})
}

// BenchmarkMinerUnique is the miner on lines it has never seen (every
// line misses the parse cache, and ends in a word never seen): a flood of
// unique lines.
func BenchmarkMinerUnique(b *testing.B) {
	lines := benchCorpus(b)
	m := NewMiner(MinerConfig{})
	b.ReportAllocs()
	for i := range b.N {
		hashSink += m.Add(lines[i%len(lines)] + " " + letters(i)).Hash
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// letters spells n in base 26 with the letters a-z: a word no mask takes
// for a value.
func letters(n int) string {
	b := []byte{'q'}
	for ; n > 0; n /= 26 {
		b = append(b, byte('a'+n%26))
	}
	return string(b)
}

// BenchmarkMinerFlood is the miner on lines that share no word with any
// other (three words never seen, letters only): past the budget of new
// templates every line goes on probation.
func BenchmarkMinerFlood(b *testing.B) {
	m := NewMiner(MinerConfig{})
	b.ReportAllocs()
	for i := range b.N {
		hashSink += m.Add(letters(3*i) + " " + letters(3*i+1) + " " + letters(3*i+2)).Hash
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
