package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/web"
)

func readFile(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	require.NoError(t, err)
	return string(b)
}

func pageConfig(t *testing.T, fsys fs.FS) map[string]any {
	t.Helper()
	js := readFile(t, fsys, "config.js")
	require.True(t, strings.HasPrefix(js, "window.SHOP_CONFIG = "), js)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(js, "window.SHOP_CONFIG = ")), ";")), &cfg), js)
	return cfg
}

// fakeWebDir is a web directory with a stand-in rrweb build.
func fakeWebDir(t *testing.T, withRRWeb bool) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "otelcol-agentic-shop-web"}`), 0o644))
	if withRRWeb {
		p := filepath.Join(dir, filepath.FromSlash(web.RRWebFile))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("var rrweb = {};\n"), 0o644))
	}
	return dir
}

func TestSiteServesPagesConfigAndRRWeb(t *testing.T) {
	var logs bytes.Buffer
	site := web.Site(web.Options{RRWebEndpoint: "http://collector.test:4319/", Dir: fakeWebDir(t, true),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, page := range []string{"index.html", "product.html", "cart.html", "checkout.html", "order.html"} {
		html := readFile(t, site, page)
		for _, script := range []string{"/static/config.js", "/static/rrweb.js", "/static/rum.js", "/static/shop.js"} {
			assert.Contains(t, html, `src="`+script+`"`, page)
		}
	}
	cfg := pageConfig(t, site)
	assert.Equal(t, "http://collector.test:4319", cfg["rrwebEndpoint"])
	assert.Equal(t, "shop-web", cfg["service"])
	assert.Equal(t, true, cfg["recording"])
	assert.Equal(t, "var rrweb = {};\n", readFile(t, site, "rrweb.js"))
	info, err := fs.Stat(site, "rrweb.js")
	require.NoError(t, err)
	assert.Equal(t, "rrweb.js", info.Name(), "served as .js (the file is .cjs)")
	assert.Empty(t, logs.String())

	rum := readFile(t, site, "rum.js")
	assert.Contains(t, rum, "maskAllInputs: true", "inputs are masked in the browser")
}

func TestSiteWithoutRRWebWorksAndSaysHowToInstallItOnce(t *testing.T) {
	var logs bytes.Buffer
	site := web.Site(web.Options{RRWebEndpoint: web.DefaultRRWebEndpoint, Dir: fakeWebDir(t, false),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	assert.Equal(t, false, pageConfig(t, site)["recording"])
	for range 3 {
		assert.Contains(t, readFile(t, site, "rrweb.js"), "npm ci --prefix sampleapp/web")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "npm ci --prefix sampleapp/web"), logs.String())
	assert.Contains(t, readFile(t, site, "index.html"), "<!doctype html>")
}

func TestSiteWithoutEndpointDoesNotRecord(t *testing.T) {
	var logs bytes.Buffer
	site := web.Site(web.Options{Dir: fakeWebDir(t, false), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	cfg := pageConfig(t, site)
	assert.Equal(t, false, cfg["recording"])
	assert.Equal(t, "", cfg["rrwebEndpoint"])
	_ = readFile(t, site, "rrweb.js")
	assert.Empty(t, logs.String(), "no endpoint: nothing to warn about")
}

func TestFindDirFindsThisDirectory(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, wd, web.FindDir())
}

// The frontend serves the pages at /<page>.html and the rest under /static/.
func TestFrontendServesTheSite(t *testing.T) {
	cfg := app.DefaultConfig()
	cfg.OTLPEndpoint = ""
	cfg.RRWebEndpoint = "http://127.0.0.1:4319"
	cfg.WebDir = fakeWebDir(t, true)
	for _, s := range app.Services {
		cfg.Listen[s] = "127.0.0.1:0"
	}
	cfg.Products = 50
	shop, err := app.Start(t.Context(), cfg)
	require.NoError(t, err)
	defer shop.Close()
	get := func(path string) (int, string, string) {
		res, err := http.Get(shop.FrontendURL() + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	for _, path := range []string{"/", "/product.html?id=3", "/cart.html", "/checkout.html", "/order.html?id=x"} {
		code, typ, body := get(path)
		assert.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, typ, "text/html", path)
		assert.Contains(t, body, `<script src="/static/shop.js">`, path)
	}
	code, typ, body := get("/static/config.js")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, typ, "javascript")
	assert.Contains(t, body, `"rrwebEndpoint":"http://127.0.0.1:4319"`)
	code, typ, body = get("/static/rrweb.js")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, typ, "javascript")
	assert.Equal(t, "var rrweb = {};\n", body)
	for _, path := range []string{"/static/rum.js", "/static/shop.js", "/static/shop.css"} {
		code, _, _ := get(path)
		assert.Equal(t, http.StatusOK, code, path)
	}
	for _, path := range []string{"/nope.html", "/static/nope.js", "/products.html", "/index.htm"} {
		code, _, _ := get(path)
		assert.Equal(t, http.StatusNotFound, code, path)
	}
}
