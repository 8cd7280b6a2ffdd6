// Package searcheval scores error search (find_similar_errors) on a public
// query set: queries labelled with the documents a person would accept,
// over a store holding the sample shop's error logs and the public Loghub
// 2k samples.
package searcheval

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed testdata/shop_errors.tsv testdata/queries.yaml
var dataFS embed.FS

// Doc is one error log of a corpus: a document the store holds.
type Doc struct {
	ID      string // shop-NNN or loghub:<System>/<EventId>
	Service string
	Body    string
}

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
)

func escapeField(s string) string   { return escaper.Replace(s) }
func unescapeField(s string) string { return unescaper.Replace(s) }

// ShopDocs are the sample shop's error logs, one per template
// (testdata/shop_errors.tsv).
func ShopDocs() ([]Doc, error) {
	b, err := dataFS.ReadFile("testdata/shop_errors.tsv")
	if err != nil {
		return nil, err
	}
	var docs []Doc
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("shop_errors.tsv line %d: want 4 tab-separated fields, got %d", n, len(f))
		}
		docs = append(docs, Doc{ID: f[0], Service: f[1], Body: unescapeField(f[3])})
	}
	return docs, sc.Err()
}

// LoghubSystems are the Loghub-2.0 2k samples of the corpus.
var LoghubSystems = []string{"Apache", "BGL", "HDFS", "Hadoop", "OpenSSH", "Spark", "Zookeeper"}

// ErrNoLoghub says the Loghub samples are not on this machine.
var ErrNoLoghub = errors.New("loghub 2k samples not found")

// LoghubDir is where the Loghub samples are: $LOGHUB2K_DIR, else the
// project's shared data folder beside the checkout (root is the
// repository's root).
func LoghubDir(root string) string {
	if d := os.Getenv("LOGHUB2K_DIR"); d != "" {
		return d
	}
	for _, d := range []string{filepath.Join(root, "..", "shared", "data", "loghub2k"), filepath.Join(root, "..", "..", "shared", "data", "loghub2k")} {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return filepath.Join(root, "..", "shared", "data", "loghub2k")
}

// LoghubDocs reads the first line of every event of the seven Loghub 2k
// samples in dir (<System>_2k.log_structured_corrected.csv). The error
// wraps ErrNoLoghub when the folder or a file is missing.
func LoghubDocs(dir string) ([]Doc, error) {
	var docs []Doc
	for _, sys := range LoghubSystems {
		path := filepath.Join(dir, sys+"_2k.log_structured_corrected.csv")
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w at %s (set LOGHUB2K_DIR to the folder with <System>_2k.log_structured_corrected.csv)", ErrNoLoghub, dir)
			}
			return nil, err
		}
		r := csv.NewReader(f)
		header, err := r.Read()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ci, ei := slices.Index(header, "Content"), slices.Index(header, "EventId")
		if ci < 0 || ei < 0 {
			f.Close()
			return nil, fmt.Errorf("%s: no Content/EventId columns in %v", path, header)
		}
		seen := map[string]bool{}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if ev := rec[ei]; !seen[ev] && strings.TrimSpace(rec[ci]) != "" {
				seen[ev] = true
				docs = append(docs, Doc{ID: "loghub:" + sys + "/" + ev, Service: sys, Body: rec[ci]})
			}
		}
		f.Close()
	}
	return docs, nil
}
