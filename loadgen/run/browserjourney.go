package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// KindBrowserJourney is the ground-truth record of a journey that ran in a
// real browser: every one is recorded, normal ones included, with the session
// the page recorded.
const KindBrowserJourney = "browser_journey"

// BrowserJourneyRecord is one browser journey in the ground truth.
type BrowserJourneyRecord struct {
	Kind      string `json:"kind"`
	JourneyID string `json:"journey_id"`
	// SessionID is the page's session (rum.sessionId in hyperdx_sessions,
	// SessionId in otel_sessions).
	SessionID string `json:"session_id"`
	Category  string `json:"category"`
	Pattern   string `json:"pattern"`
	// Script is what the browser did for the pattern (see browserScripts).
	Script   string          `json:"script"`
	Start    time.Time       `json:"start"`
	End      time.Time       `json:"end"`
	Pages    []string        `json:"pages"`
	TraceIDs []string        `json:"trace_ids"`
	Requests []RequestRecord `json:"requests"`
	// ErrorsShown are the error messages the page showed the user.
	ErrorsShown []string `json:"errors_shown,omitempty"`
	// Exceptions are uncaught JavaScript errors on the page.
	Exceptions []string `json:"exceptions,omitempty"`
	// Outcome is where the user got: "order_placed", "left" (the script
	// ended without buying, as designed) or "gave_up" (an error stopped
	// it).
	Outcome string `json:"outcome"`
	// Failure says why the script could not go on, when it could not.
	Failure string   `json:"failure,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// browserScripts maps each journey pattern to what a person in a browser
// does for it: the pages offer no way to send what some patterns send
// (malformed JSON, retries inside one trace), so those take the nearest thing
// a user can do.
var browserScripts = map[string]string{
	"purchase": "purchase", "browse": "browse", "search_and_abandon": "search", "stock_check": "recommendations",
	"product_not_found": "missing_product", "out_of_stock": "out_of_stock", "card_declined": "purchase_declined",
	"gateway_error": "purchase_gateway_error", "authorize_timeout": "purchase_slow_authorize",
	"capture_timeout": "purchase_slow_capture", "duplicate_payment": "purchase", "slow_search": "broad_search",
	"bulk_stock_check": "browse", "coupon_bug": "purchase_bulk_coupon", "recommendations_down": "recommendations",
	"rapid_retry_payment": "purchase_rage_click", "rapid_retry_cart": "rage_add_to_cart",
	"payment_before_cart": "checkout_empty_cart", "checkout_without_cart": "checkout_empty_cart",
	"reverse_flow": "checkout_empty_cart", "scraper": "scrape", "large_payload": "purchase_long_note",
	"unicode_text": "unicode_search", "quotes_and_sql": "quotes_search", "boundary_values": "huge_quantity",
	"malformed_json": "purchase",
}

// browserJourney is one journey in a browser tab.
type browserJourney struct {
	*journey
	p    *browserPool
	tab  context.Context
	base string

	mu       sync.Mutex
	inflight map[network.RequestID]*pendingRequest
	pages    []string
	errors   []string
	excepts  []string
	outcome  string
	failure  string
	script   string
}

type pendingRequest struct {
	id  uint64
	req Request
}

var apiPath = regexp.MustCompile(`^/(products|cart|checkout|payment|inventory|orders)(/|$)`)

// routeOf names a request's frontend route as routeServices does.
func routeOf(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1:
		return method + " /" + parts[0]
	case parts[0] == "products" && len(parts) == 3:
		return method + " /products/{id}/" + parts[2]
	case parts[0] == "cart" && parts[1] == "add":
		return method + " /cart/add"
	case parts[0] == "inventory":
		return method + " /inventory/" + parts[1]
	default:
		return method + " /" + parts[0] + "/{id}"
	}
}

// onEvent sees the tab's protocol events: the API calls the page makes (with
// the traceparent it put on them), page loads and uncaught errors. It runs on
// chromedp's reader goroutine, so it only records.
func (bj *browserJourney) onEvent(ev any) {
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		u, err := url.Parse(e.Request.URL)
		if err != nil || !strings.HasPrefix(e.Request.URL, bj.base) || !apiPath.MatchString(u.Path) {
			return
		}
		tp, _ := e.Request.Headers["traceparent"].(string)
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || len(parts[1]) != 32 {
			return
		}
		req := Request{TraceID: parts[1], Method: e.Request.Method, Route: routeOf(e.Request.Method, u.Path), Path: u.RequestURI(),
			Start: time.Now(), Session: baggageSession(e.Request.Headers), Browser: true}
		id := bj.r.truth.requestStarted(req.Start)
		bj.mu.Lock()
		bj.inflight[e.RequestID] = &pendingRequest{id: id, req: req}
		bj.mu.Unlock()
	case *network.EventResponseReceived:
		bj.mu.Lock()
		if pr := bj.inflight[e.RequestID]; pr != nil {
			pr.req.Status = int(e.Response.Status)
		}
		bj.mu.Unlock()
	case *network.EventLoadingFinished:
		bj.finish(e.RequestID, "")
	case *network.EventLoadingFailed:
		bj.finish(e.RequestID, e.ErrorText)
	case *page.EventFrameNavigated:
		if e.Frame.ParentID == "" {
			u, err := url.Parse(e.Frame.URL)
			if err == nil && strings.HasPrefix(e.Frame.URL, bj.base) {
				bj.mu.Lock()
				bj.pages = append(bj.pages, u.Path)
				bj.mu.Unlock()
			}
		}
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil && e.ExceptionDetails.Exception.Description != "" {
			msg = strings.SplitN(e.ExceptionDetails.Exception.Description, "\n", 2)[0]
		}
		bj.mu.Lock()
		bj.excepts = append(bj.excepts, msg)
		bj.mu.Unlock()
	}
}

// baggageSession reads session.id from the W3C baggage the page sent.
func baggageSession(h network.Headers) string {
	for k, v := range h {
		if !strings.EqualFold(k, "baggage") {
			continue
		}
		b, _ := v.(string)
		for _, member := range strings.Split(b, ",") {
			key, val, ok := strings.Cut(strings.TrimSpace(member), "=")
			if ok && strings.TrimSpace(key) == "session.id" {
				val, _, _ = strings.Cut(val, ";")
				if s, err := url.QueryUnescape(strings.TrimSpace(val)); err == nil {
					return s
				}
			}
		}
	}
	return ""
}

func (bj *browserJourney) finish(rid network.RequestID, errText string) {
	bj.mu.Lock()
	pr := bj.inflight[rid]
	delete(bj.inflight, rid)
	bj.mu.Unlock()
	if pr == nil {
		return
	}
	pr.req.End = time.Now()
	if errText != "" && pr.req.Status == 0 {
		pr.req.Err = errText
	}
	bj.record(pr)
}

func (bj *browserJourney) record(pr *pendingRequest) {
	bj.mu.Lock()
	if len(bj.traces) == 0 || bj.traces[len(bj.traces)-1] != pr.req.TraceID {
		bj.traces = append(bj.traces, pr.req.TraceID)
		bj.r.traces.Add(1)
	}
	bj.reqs = append(bj.reqs, pr.req)
	bj.mu.Unlock()
	bj.r.requestDone(pr.id, bj.journey, pr.req)
}

// runJourney runs one journey in a new tab of b (a browser context of its
// own: no cookies, storage or cart shared with other journeys) and writes its
// ground-truth record.
func (p *browserPool) runJourney(b *browser, j *journey) *browserJourney {
	bj := &browserJourney{journey: j, p: p, base: p.r.target, inflight: map[network.RequestID]*pendingRequest{},
		script: browserScripts[j.pattern]}
	if bj.script == "" {
		bj.script = "browse"
	}
	j.start = time.Now()
	p.journeys.Add(1)
	p.r.mu.Lock()
	p.r.byCategory[j.category]++
	p.r.byPattern[j.pattern]++
	p.r.mu.Unlock()
	p.r.journeys.Add(1)

	tab, closeTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(bj.onEvent))
	bj.tab = tab
	_, err := chromedp.Call(tab, network.Enable, network.EnableParams{})
	if err == nil {
		ctx, cancel := context.WithTimeout(tab, p.set.JourneyTimeout.D())
		stop := context.AfterFunc(j.ctx, cancel)
		err = bj.play(ctx)
		if err == nil || ctx.Err() == nil {
			// What the page recorded reaches the collector before the tab
			// closes (the page also sends on leaving, as a beacon).
			fctx, fcancel := context.WithTimeout(tab, 10*time.Second)
			_, _ = chromedp.Run(fctx, chromedp.Evaluate[any](`window.shopRum && window.shopRum.flush()`, chromedp.EvalAwaitPromise))
			fcancel()
		}
		stop()
		cancel()
	}
	closeTab()
	j.end = time.Now()
	if err != nil {
		bj.failure = err.Error()
		p.failed.Add(1)
	}
	// Requests the page still waited for when the tab closed were
	// abandoned: they count for the windows they overlapped.
	bj.mu.Lock()
	left := bj.inflight
	bj.inflight = map[network.RequestID]*pendingRequest{}
	bj.mu.Unlock()
	for _, pr := range left {
		pr.req.End, pr.req.Err = j.end, "abandoned when the tab closed"
		bj.record(pr)
	}
	if j.session != "" {
		p.sessions.Add(1)
	}
	p.r.truth.write(bj.truthRecord())
	return bj
}

func (bj *browserJourney) truthRecord() BrowserJourneyRecord {
	bj.mu.Lock()
	defer bj.mu.Unlock()
	rec := BrowserJourneyRecord{Kind: KindBrowserJourney, JourneyID: bj.id, SessionID: bj.session, Category: bj.category,
		Pattern: bj.pattern, Script: bj.script, Start: bj.start, End: bj.end, Pages: bj.pages, TraceIDs: bj.traces,
		ErrorsShown: bj.errors, Exceptions: bj.excepts, Outcome: bj.outcome, Failure: bj.failure, Notes: bj.notes}
	if rec.TraceIDs == nil {
		rec.TraceIDs = []string{}
	}
	if rec.Pages == nil {
		rec.Pages = []string{}
	}
	if rec.Outcome == "" {
		rec.Outcome = "gave_up"
	}
	rec.Requests = []RequestRecord{}
	for _, r := range bj.reqs {
		rec.Requests = append(rec.Requests, RequestRecord{TraceID: r.TraceID, Route: r.Route, Status: r.Status, Error: r.Err, Start: r.Start, End: r.End})
	}
	return rec
}

// --- what a person does ----------------------------------------------------

// step runs actions with a bound: a page that never answers ends the
// journey, not the browser.
func (bj *browserJourney) step(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) error {
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// open loads a page by URL, as a person following a link from elsewhere.
func (bj *browserJourney) open(ctx context.Context, path string) error {
	u, _ := url.Parse(path)
	return bj.step(ctx, "open "+path, chromedp.Navigate(bj.base+path), bj.ready(u.Path))
}

// ready waits until the page at path has loaded its data (shop.js sets
// body[data-ready]).
func (bj *browserJourney) ready(path string) chromedp.Action[chromedp.Void] {
	return waitJS(fmt.Sprintf(`location.pathname === %q && document.body && document.body.dataset.ready === 'true'`, path))
}

// waitJS waits until expr is truthy. It evaluates expr every 100 ms rather
// than with a poll inside the page, because the pages navigate: a navigation
// destroys the page's JavaScript context, and with it a poll running there.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := waitValue[bool](ctx, t, expr)
		return chromedp.Void{}, err
	}
}

// waitValue evaluates expr until it is truthy and returns its value.
func waitValue[T comparable](ctx context.Context, t *chromedp.Target, expr string) (T, error) {
	var zero T
	var last error
	for {
		v, err := chromedp.Evaluate[T](expr)(ctx, t)
		if err == nil && v != zero {
			return v, nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return zero, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
			}
			return zero, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// think pauses like a person reading the page.
func (bj *browserJourney) think(ctx context.Context) {
	lo, hi := bj.p.set.ThinkTime.Min.D(), bj.p.set.ThinkTime.Max.D()
	d := lo
	if hi > lo {
		d += time.Duration(bj.rng.Int64N(int64(hi - lo)))
	}
	sleepCtx(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// scroll moves the mouse over the page and turns the wheel a few times.
func (bj *browserJourney) scroll(ctx context.Context) error {
	n := 1 + bj.rng.IntN(3)
	for range n {
		x, y := float64(200+bj.rng.IntN(800)), float64(150+bj.rng.IntN(500))
		dy := float64(150 + bj.rng.IntN(450))
		if err := bj.step(ctx, "scroll",
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, x, y, func(p *input.DispatchMouseEventParams) {
				// Chromium wants both deltas and the encoder leaves out zeros.
				p.DeltaX, p.DeltaY = 0.01, dy
			}),
		); err != nil {
			return err
		}
		sleepCtx(ctx, time.Duration(150+bj.rng.IntN(400))*time.Millisecond)
	}
	return nil
}

// typeInto clicks a field and types text into it key by key.
func (bj *browserJourney) typeInto(ctx context.Context, sel, text string) error {
	if err := bj.step(ctx, "click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		return err
	}
	for _, r := range text {
		if err := bj.step(ctx, "type into "+sel, chromedp.KeyEvent(string(r))); err != nil {
			return err
		}
		sleepCtx(ctx, time.Duration(30+bj.rng.IntN(120))*time.Millisecond)
	}
	return nil
}

func (bj *browserJourney) click(ctx context.Context, sel string) error {
	return bj.step(ctx, "click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// clickTo clicks sel and waits for the page at path.
func (bj *browserJourney) clickTo(ctx context.Context, sel, path string) error {
	return bj.step(ctx, "click "+sel+" to "+path, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible), bj.ready(path))
}

// shownError returns the error the page shows the user now, if any.
func (bj *browserJourney) shownError(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := chromedp.Run(sctx, chromedp.Evaluate[string](
		`(() => { const s = document.querySelector('#status'); return s && s.classList.contains('error') ? s.textContent : ''; })()`))
	if err != nil || msg == "" {
		return ""
	}
	bj.mu.Lock()
	bj.errors = append(bj.errors, msg)
	bj.mu.Unlock()
	return msg
}

// settle waits for the page's pending work (a message in #status that is
// not "…ing…") and reports the error it shows, if any.
func (bj *browserJourney) settle(ctx context.Context) string {
	_ = bj.step(ctx, "wait for the page", waitJS(`!/…$/.test((document.querySelector('#status') || {}).textContent || '')`))
	return bj.shownError(ctx)
}

func (bj *browserJourney) setOutcome(o string) {
	bj.mu.Lock()
	bj.outcome = o
	bj.mu.Unlock()
}

// availableProducts lists the ids of the in-stock products on the list page.
func (bj *browserJourney) availableProducts(ctx context.Context) ([]string, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(sctx, chromedp.Evaluate[json.RawMessage](
		`[...document.querySelectorAll('#products .product-link:not([data-available="0"])')].map(a => a.dataset.id)`))
	if err != nil {
		return nil, fmt.Errorf("read the product list: %w", err)
	}
	var ids []string
	_ = json.Unmarshal(raw, &ids)
	return ids, nil
}

// play runs the journey's script.
func (bj *browserJourney) play(ctx context.Context) error {
	if err := bj.open(ctx, "/"); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	sid, err := chromedp.Run(sctx, chromedp.Evaluate[string](`window.shopRum ? window.shopRum.sessionId : ''`))
	cancel()
	if err != nil {
		return fmt.Errorf("read the session id: %w", err)
	}
	bj.mu.Lock()
	bj.session = sid
	bj.mu.Unlock()
	if err := bj.scroll(ctx); err != nil {
		return err
	}
	bj.think(ctx)
	switch bj.script {
	case "purchase":
		return bj.purchase(ctx, pick(bj.rng, okCards), "", "", false)
	case "purchase_declined":
		return bj.purchase(ctx, pick(bj.rng, []string{cardDeclined, cardNoFunds}), "", "", false)
	case "purchase_gateway_error":
		return bj.purchase(ctx, cardGatewayError, "", "", false)
	case "purchase_slow_authorize":
		return bj.purchase(ctx, cardSlowAuthorize, "", "", false)
	case "purchase_slow_capture":
		return bj.purchase(ctx, cardSlowCapture, "", "", false)
	case "purchase_bulk_coupon":
		return bj.purchase(ctx, pick(bj.rng, okCards), "BULK5", "", false)
	case "purchase_rage_click":
		return bj.purchase(ctx, pick(bj.rng, okCards), "", "", true)
	case "purchase_long_note":
		return bj.purchase(ctx, pick(bj.rng, okCards), "", strings.Repeat(pick(bj.rng, narrowWords)+" ", 20+bj.rng.IntN(40)), false)
	case "browse":
		return bj.browse(ctx)
	case "scrape":
		return bj.scrape(ctx)
	case "search":
		return bj.search(ctx, pick(bj.rng, narrowWords), true)
	case "broad_search":
		return bj.open(ctx, "/?"+url.Values{"q": {pick(bj.rng, broadWords)}, "sort": {"relevance"}}.Encode())
	case "unicode_search":
		return bj.search(ctx, pick(bj.rng, unicodeWords), false)
	case "quotes_search":
		return bj.search(ctx, pick(bj.rng, []string{`O'Brien "lamp"`, `'; DROP TABLE products; --`, `<script>alert(1)</script>`}), false)
	case "recommendations":
		return bj.recommendations(ctx)
	case "missing_product":
		bj.setOutcome("left")
		if err := bj.open(ctx, "/product.html?id="+strconv.Itoa(900000+bj.rng.IntN(99999))); err != nil {
			return err
		}
		bj.shownError(ctx)
		bj.think(ctx)
		return nil
	case "out_of_stock":
		return bj.outOfStock(ctx)
	case "rage_add_to_cart":
		if err := bj.toProduct(ctx); err != nil {
			return err
		}
		return bj.addToCart(ctx, "", true)
	case "huge_quantity":
		if err := bj.toProduct(ctx); err != nil {
			return err
		}
		bj.setOutcome("left")
		if err := bj.step(ctx, "clear quantity", chromedp.SetValue(chromedp.ID("qty"), "")); err != nil {
			return err
		}
		if err := bj.typeInto(ctx, "#qty", "99"); err != nil {
			return err
		}
		if err := bj.click(ctx, "#add-to-cart"); err != nil {
			return err
		}
		bj.settle(ctx)
		return nil
	case "checkout_empty_cart":
		bj.setOutcome("left")
		return bj.open(ctx, "/checkout.html")
	}
	return fmt.Errorf("no browser script %q", bj.script)
}

var unicodeWords = []string{"램프", "水筒", "שלום", "😀 lamp", "Ünïcödé"}

// toProduct clicks an in-stock product on the list page.
func (bj *browserJourney) toProduct(ctx context.Context) error {
	ids, err := bj.availableProducts(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("the product list shows no product in stock")
	}
	id := pick(bj.rng, ids)
	if err := bj.clickTo(ctx, fmt.Sprintf(`#products .product-link[data-id=%q]`, id), "/product.html"); err != nil {
		return err
	}
	bj.think(ctx)
	return bj.scroll(ctx)
}

// addToCart sets the quantity, maybe a note, and clicks "Add to cart" (many
// times in a row when rage is set, as an impatient user does).
func (bj *browserJourney) addToCart(ctx context.Context, note string, rage bool) error {
	if bj.rng.IntN(3) == 0 {
		if err := bj.step(ctx, "clear quantity", chromedp.SetValue(chromedp.ID("qty"), "")); err != nil {
			return err
		}
		if err := bj.typeInto(ctx, "#qty", strconv.Itoa(2+bj.rng.IntN(2))); err != nil {
			return err
		}
	}
	if note != "" {
		if err := bj.typeInto(ctx, "#note", note); err != nil {
			return err
		}
	}
	bj.think(ctx)
	if rage {
		bj.rageClick(ctx, "#add-to-cart")
	} else if err := bj.click(ctx, "#add-to-cart"); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	where, err := chromedp.Run(sctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		return waitValue[string](ctx, t, `location.pathname === '/cart.html' && document.body.dataset.ready === 'true' ? 'cart' :
		 (document.querySelector('#status.error') ? 'error' : '')`)
	})
	if err != nil {
		return fmt.Errorf("add to cart: %w", err)
	}
	if where == "error" {
		bj.shownError(ctx)
		return nil
	}
	bj.think(ctx)
	return nil
}

// rageClick clicks a button 4-7 times in quick succession.
func (bj *browserJourney) rageClick(ctx context.Context, sel string) {
	n := 4 + bj.rng.IntN(4)
	bj.note("rage-clicked %s %d times", sel, n)
	for range n {
		// The page may already have moved on: later clicks can miss.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = chromedp.Do(sctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		sleepCtx(ctx, time.Duration(60+bj.rng.IntN(120))*time.Millisecond)
	}
}

// purchase: product, cart (sometimes a second product), checkout form typed
// in, place the order; ends on the order page or at the error the page shows.
func (bj *browserJourney) purchase(ctx context.Context, card, coupon, note string, rage bool) error {
	items := 1
	if bj.rng.IntN(4) == 0 {
		items = 2
	}
	for i := range items {
		if i > 0 {
			if err := bj.clickTo(ctx, `.actions a[href="/"]`, "/"); err != nil {
				return err
			}
			if err := bj.scroll(ctx); err != nil {
				return err
			}
		}
		if err := bj.toProduct(ctx); err != nil {
			return err
		}
		if err := bj.addToCart(ctx, note, false); err != nil {
			return err
		}
		if bj.currentPath(ctx) != "/cart.html" {
			bj.setOutcome("gave_up")
			return nil
		}
		// The cart page loads the cart: a failure shows as an error, and
		// the user gives up.
		if bj.settle(ctx) != "" {
			bj.setOutcome("gave_up")
			bj.think(ctx)
			return nil
		}
	}
	bj.think(ctx)
	if err := bj.clickTo(ctx, "#to-checkout", "/checkout.html"); err != nil {
		return err
	}
	fields := []struct{ sel, text string }{
		{"#name", pick(bj.rng, names)},
		{"#email", fmt.Sprintf("shopper%d@example.com", bj.rng.IntN(100000))},
		{"#line1", fmt.Sprintf("%d Market St", 1+bj.rng.IntN(999))},
		{"#city", pick(bj.rng, cities)},
		{"#card-number", card},
	}
	if coupon != "" {
		fields = append(fields, struct{ sel, text string }{"#coupon", coupon})
	}
	for _, f := range fields {
		if err := bj.typeInto(ctx, f.sel, f.text); err != nil {
			return err
		}
	}
	if err := bj.step(ctx, "choose the country", chromedp.SetValue(chromedp.ID("country"), pick(bj.rng, []string{"US", "DE", "FR", "GB", "JP"}))); err != nil {
		return err
	}
	bj.think(ctx)
	if rage {
		bj.rageClick(ctx, "#place-order")
	} else if err := bj.click(ctx, "#place-order"); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	where, err := chromedp.Run(sctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		return waitValue[string](ctx, t, `location.pathname === '/order.html' && document.body.dataset.ready === 'true' ? 'order' :
		 (document.querySelector('#status.error') ? 'error' : '')`)
	})
	if err != nil {
		return fmt.Errorf("place the order: %w", err)
	}
	if where == "error" {
		bj.shownError(ctx)
		bj.setOutcome("gave_up")
		bj.think(ctx)
		return nil
	}
	bj.setOutcome("order_placed")
	bj.think(ctx)
	return nil
}

func (bj *browserJourney) currentPath(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`location.pathname`))
	return p
}

// browse: a page or two of the list, a few products, no purchase.
func (bj *browserJourney) browse(ctx context.Context) error {
	bj.setOutcome("left")
	if bj.rng.IntN(2) == 0 {
		if err := bj.step(ctx, "next page", chromedp.Click(chromedp.ID("next"), chromedp.NodeVisible),
			waitJS(`new URLSearchParams(location.search).get('page') === '2' && (document.querySelector('#status') || {}).textContent === ''`)); err != nil {
			return err
		}
		if err := bj.scroll(ctx); err != nil {
			return err
		}
	}
	for range 1 + bj.rng.IntN(3) {
		if err := bj.toProduct(ctx); err != nil {
			return err
		}
		bj.think(ctx)
		if err := bj.clickTo(ctx, `.crumbs a[href="/"]`, "/"); err != nil {
			return err
		}
	}
	return nil
}

// scrape: many product pages back to back, no pauses.
func (bj *browserJourney) scrape(ctx context.Context) error {
	bj.setOutcome("left")
	ids, err := bj.availableProducts(ctx)
	if err != nil {
		return err
	}
	for i := range min(len(ids), 8+bj.rng.IntN(8)) {
		if err := bj.open(ctx, "/product.html?id="+ids[i]); err != nil {
			return err
		}
	}
	return nil
}

// search types a query into the search box and submits it; maybe opens a
// hit.
func (bj *browserJourney) search(ctx context.Context, q string, view bool) error {
	bj.setOutcome("left")
	if err := bj.typeInto(ctx, `#search input[name=q]`, q); err != nil {
		return err
	}
	if err := bj.step(ctx, "submit the search", chromedp.KeyEvent("\r"),
		waitJS(`new URLSearchParams(location.search).has('q') && !/…$/.test((document.querySelector('#status') || {}).textContent)`)); err != nil {
		return err
	}
	if bj.shownError(ctx) != "" {
		return nil
	}
	bj.think(ctx)
	ids, err := bj.availableProducts(ctx)
	if err != nil || !view || len(ids) == 0 {
		return err
	}
	return bj.toProduct(ctx)
}

// recommendations: a product page and its "similar products".
func (bj *browserJourney) recommendations(ctx context.Context) error {
	bj.setOutcome("left")
	if err := bj.toProduct(ctx); err != nil {
		return err
	}
	if err := bj.step(ctx, "show similar products", chromedp.Click(chromedp.ID("show-recommendations"), chromedp.NodeVisible),
		waitJS(`document.querySelector('#recommendations').childElementCount > 0`)); err != nil {
		return err
	}
	bj.think(ctx)
	return bj.scroll(ctx)
}

// outOfStock: a product nobody can buy, or too many units of one.
func (bj *browserJourney) outOfStock(ctx context.Context) error {
	bj.setOutcome("left")
	if oos := bj.r.catalog.outOfStock; len(oos) > 0 && bj.rng.IntN(2) == 0 {
		if err := bj.open(ctx, "/product.html?id="+strconv.Itoa(pick(bj.rng, oos).ID)); err != nil {
			return err
		}
		bj.think(ctx)
		return nil
	}
	if err := bj.toProduct(ctx); err != nil {
		return err
	}
	if err := bj.step(ctx, "clear quantity", chromedp.SetValue(chromedp.ID("qty"), "")); err != nil {
		return err
	}
	if err := bj.typeInto(ctx, "#qty", "99"); err != nil {
		return err
	}
	if err := bj.click(ctx, "#add-to-cart"); err != nil {
		return err
	}
	bj.settle(ctx)
	return nil
}
