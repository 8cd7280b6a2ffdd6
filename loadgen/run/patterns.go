package run

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pattern is one kind of journey.
type pattern struct {
	name     string
	category string
	// expect says what the journey is designed to provoke, for the
	// ground-truth record.
	expect string
	fn     func(j *journey)
}

// Test cards of the shop's simulated gateway.
const (
	cardDeclined      = "4000000000000002"
	cardNoFunds       = "4000000000009995"
	cardGatewayError  = "4000000000000119"
	cardSlowAuthorize = "4000000000003220"
	cardSlowCapture   = "4000000000000259"
)

var patterns = []pattern{
	// Normal: what most users do.
	{"purchase", Normal, "browse, add 1-3 items, check out and pay", purchase},
	{"browse", Normal, "look around without buying", browse},
	{"search_and_abandon", Normal, "search, add to cart, leave", searchAndAbandon},
	{"stock_check", Normal, "check availability of a few products", stockCheck},

	// Error injection: journeys that walk into a known error path.
	{"product_not_found", ErrorInjection, "404 on a product that does not exist", productNotFound},
	{"out_of_stock", ErrorInjection, "409 adding a discontinued product or too many units", outOfStock},
	{"card_declined", ErrorInjection, "402 card declined at checkout", cardDeclinedJourney},
	{"gateway_error", ErrorInjection, "502 payment gateway processing error at checkout", gatewayError},
	{"authorize_timeout", ErrorInjection, "504 payment gateway times out authorizing at checkout", authorizeTimeout},
	{"capture_timeout", ErrorInjection, "504 payment gateway times out capturing at payment", captureTimeout},
	{"duplicate_payment", ErrorInjection, "409 paying the same order twice", duplicatePayment},
	{"slow_search", ErrorInjection, "504 database timeout ranking a broad search by relevance", slowSearch},
	{"bulk_stock_check", ErrorInjection, "503 connection pool exhausted checking many SKUs at once", bulkStockCheck},
	{"coupon_bug", ErrorInjection, "500 checkout crashes on a bulk coupon without bulk items", couponBug},
	{"recommendations_down", ErrorInjection, "502 connection refused by a service that is not deployed", recommendationsDown},

	// Anomalous: valid requests in unusual shapes or orders.
	{"rapid_retry_payment", Anomalous, "the same payment sent 5-8 times within one trace", rapidRetryPayment},
	{"rapid_retry_cart", Anomalous, "the same add-to-cart sent 5-8 times within one trace", rapidRetryCart},
	{"payment_before_cart", Anomalous, "pays for an order that does not exist yet, then shops", paymentBeforeCart},
	{"checkout_without_cart", Anomalous, "checks out a cart that was never created", checkoutWithoutCart},
	{"reverse_flow", Anomalous, "payment, checkout, then add to cart: the flow backwards", reverseFlow},
	{"scraper", Anomalous, "walks 15-25 product pages back to back with no pauses", scraper},

	// Edge cases: boundary and unusual input.
	{"large_payload", EdgeCase, "hundreds of KB of notes in a cart line (sometimes over the 1 MiB limit)", largePayload},
	{"unicode_text", EdgeCase, "Unicode, emoji and right-to-left text in search and shipping fields", unicodeText},
	{"quotes_and_sql", EdgeCase, "quotes and SQL-like text in search, notes and names", quotesAndSQL},
	{"boundary_values", EdgeCase, "zero, negative and huge quantities and page sizes", boundaryValues},
	{"malformed_json", EdgeCase, "truncated and wrongly typed JSON bodies", malformedJSON},
}

func patternNames(category string) []string {
	var out []string
	for _, p := range patterns {
		if p.category == category {
			out = append(out, p.name)
		}
	}
	return out
}

func lookupPattern(name string) pattern {
	for _, p := range patterns {
		if p.name == name {
			return p
		}
	}
	panic("unknown pattern " + name)
}

func (j *journey) browsePage() {
	q := url.Values{"page": {strconv.Itoa(1 + j.rng.IntN(5))}, "page_size": {"20"}}
	if j.rng.IntN(3) == 0 {
		q.Set("category", pick(j.rng, []string{"kitchen", "outdoor", "electronics", "home", "apparel", "office"}))
	}
	if j.rng.IntN(3) == 0 {
		q.Set("sort", pick(j.rng, []string{"price", "price_desc", "name"}))
	}
	j.call(http.MethodGet, "GET /products", "/products?"+q.Encode(), nil)
}

func (j *journey) view(id int) result {
	return j.call(http.MethodGet, "GET /products/{id}", "/products/"+strconv.Itoa(id), nil)
}

// fillCart adds n distinct in-stock products; it reports whether any made it.
func (j *journey) fillCart(n int) bool {
	ok := false
	for range n {
		p := j.product()
		if j.view(p.ID).status != http.StatusOK {
			continue
		}
		j.think()
		if j.addToCart(p.ID, 1+j.rng.IntN(2), "").status == http.StatusOK {
			ok = true
		}
		j.think()
		if j.done() {
			break
		}
	}
	return ok
}

func purchase(j *journey) {
	if j.rng.IntN(2) == 0 {
		j.call(http.MethodGet, "GET /", "/", nil)
	}
	j.browsePage()
	j.think()
	if !j.fillCart(1 + j.rng.IntN(3)) {
		return
	}
	coupon := ""
	if j.rng.IntN(5) == 0 {
		coupon = pick(j.rng, []string{"SAVE10", "WELCOME5"})
	}
	res := j.checkout("POST /checkout", pick(j.rng, okCards), coupon)
	if res.status != http.StatusCreated {
		return
	}
	j.think()
	j.pay(res.str("order_id"))
}

func browse(j *journey) {
	j.call(http.MethodGet, "GET /", "/", nil)
	j.browsePage()
	for range 2 + j.rng.IntN(3) {
		j.think()
		j.view(j.product().ID)
	}
}

func searchAndAbandon(j *journey) {
	q := url.Values{"q": {pick(j.rng, narrowWords)}, "sort": {pick(j.rng, []string{"relevance", "price", ""})}}
	res := j.call(http.MethodGet, "GET /products", "/products?"+q.Encode(), nil)
	j.think()
	id := j.product().ID
	if ps, ok := res.body["products"].([]any); ok && len(ps) > 0 {
		if p, ok := ps[j.rng.IntN(len(ps))].(map[string]any); ok {
			f, okID := p["id"].(float64)
			avail, _ := p["available"].(float64)
			if okID && avail > 0 {
				id = int(f)
			}
		}
	}
	j.view(id)
	j.think()
	j.addToCart(id, 1, "")
}

func stockCheck(j *journey) {
	skus := make([]string, 1+j.rng.IntN(3))
	for i := range skus {
		skus[i] = j.product().SKU
	}
	j.call(http.MethodGet, "GET /inventory/check", "/inventory/check?skus="+strings.Join(skus, ","), nil)
	j.think()
	j.view(j.product().ID)
}

func productNotFound(j *journey) {
	j.browsePage()
	j.think()
	j.view(900000 + j.rng.IntN(99999))
}

func outOfStock(j *journey) {
	if len(j.r.catalog.outOfStock) > 0 && j.rng.IntN(2) == 0 {
		p := pick(j.rng, j.r.catalog.outOfStock)
		j.view(p.ID)
		j.think()
		j.addToCart(p.ID, 1, "")
		return
	}
	p := j.product()
	j.view(p.ID)
	j.think()
	j.addToCart(p.ID, 900+j.rng.IntN(100), "")
}

// checkoutWith fills a cart and checks out with card; it returns the answer.
func (j *journey) checkoutWith(card, coupon string) result {
	if !j.fillCart(1) {
		return result{}
	}
	return j.checkout("POST /checkout", card, coupon)
}

func cardDeclinedJourney(j *journey) {
	j.checkoutWith(pick(j.rng, []string{cardDeclined, cardNoFunds}), "")
}

func gatewayError(j *journey) { j.checkoutWith(cardGatewayError, "") }

func authorizeTimeout(j *journey) { j.checkoutWith(cardSlowAuthorize, "") }

func captureTimeout(j *journey) {
	res := j.checkoutWith(cardSlowCapture, "")
	if res.status == http.StatusCreated {
		j.think()
		j.pay(res.str("order_id"))
	}
}

func duplicatePayment(j *journey) {
	res := j.checkoutWith(pick(j.rng, okCards), "")
	if res.status != http.StatusCreated {
		return
	}
	order := res.str("order_id")
	j.think()
	j.pay(order)
	j.think()
	j.pay(order)
}

func slowSearch(j *journey) {
	q := url.Values{"q": {pick(j.rng, broadWords)}, "sort": {"relevance"}}
	j.call(http.MethodGet, "GET /products", "/products?"+q.Encode(), nil)
}

func bulkStockCheck(j *journey) {
	skus := make([]string, 25+j.rng.IntN(16))
	for i := range skus {
		skus[i] = j.product().SKU
	}
	j.call(http.MethodGet, "GET /inventory/check", "/inventory/check?skus="+strings.Join(skus, ","), nil)
}

func couponBug(j *journey) { j.checkoutWith(pick(j.rng, okCards), "BULK5") }

func recommendationsDown(j *journey) {
	id := j.product().ID
	j.view(id)
	j.think()
	j.call(http.MethodGet, "GET /products/{id}/recommendations", "/products/"+strconv.Itoa(id)+"/recommendations", nil)
}

func rapidRetryPayment(j *journey) {
	res := j.checkoutWith(pick(j.rng, okCards), "")
	if res.status != http.StatusCreated {
		return
	}
	order := res.str("order_id")
	trace := newTraceID()
	n := 5 + j.rng.IntN(4)
	j.note("%d payment attempts in trace %s", n, trace)
	for range n {
		j.callInTrace(trace, http.MethodPost, "POST /payment", "/payment", map[string]any{"order_id": order, "idempotency_key": newSpanID()})
		j.pause(j.r.cfg.ThinkTime.Min.D() / 10)
	}
}

func rapidRetryCart(j *journey) {
	p := j.product()
	j.view(p.ID)
	trace := newTraceID()
	n := 5 + j.rng.IntN(4)
	j.note("%d add-to-cart attempts in trace %s", n, trace)
	for range n {
		body := map[string]any{"product_id": p.ID, "quantity": 1}
		if j.cart != "" {
			body["cart_id"] = j.cart
		}
		res := j.callInTrace(trace, http.MethodPost, "POST /cart/add", "/cart/add", body)
		if id := res.str("cart_id"); id != "" && res.status == http.StatusOK {
			j.cart = id
		}
	}
}

func fakeOrderID(j *journey) string { return fmt.Sprintf("ord-%016x", j.rng.Uint64()) }

func paymentBeforeCart(j *journey) {
	j.pay(fakeOrderID(j))
	j.think()
	j.browsePage()
	j.think()
	j.fillCart(1)
}

func checkoutWithoutCart(j *journey) {
	j.cart = fmt.Sprintf("cart-%016x", j.rng.Uint64())
	j.checkout("POST /checkout", pick(j.rng, okCards), "")
	j.think()
	j.fillCart(1)
}

func reverseFlow(j *journey) {
	j.pay(fakeOrderID(j))
	j.think()
	j.cart = fmt.Sprintf("cart-%016x", j.rng.Uint64())
	j.checkout("POST /checkout", pick(j.rng, okCards), "")
	j.think()
	j.addToCart(j.product().ID, 1, "")
}

func scraper(j *journey) {
	first := 1 + j.rng.IntN(max(len(j.r.catalog.all)-30, 1))
	for i := range 15 + j.rng.IntN(11) {
		j.view(first + i)
		if j.done() {
			return
		}
	}
}

func largePayload(j *journey) {
	size := 100<<10 + j.rng.IntN(400<<10)
	if j.rng.IntN(4) == 0 {
		size = 1<<20 + j.rng.IntN(1<<20)
	}
	j.note("note of %d bytes", size)
	note := strings.Repeat("gift wrap please; ", size/18+1)[:size]
	j.addToCart(j.product().ID, 1, note)
}

var unicodeSamples = []string{"커피 머그", "☕️ mug", "🚀🔥✨", "Crème brûlée", "東京 Tea", "Ñandú", "Zürich", "مرحبا بالعالم",
	"שלום", "😀😃😄😁", "zero\u200bwidth", "ｆｕｌｌｗｉｄｔｈ", "Ελληνικά", "Ünïcödé"}

func unicodeText(j *journey) {
	q := url.Values{"q": {pick(j.rng, unicodeSamples)}}
	j.call(http.MethodGet, "GET /products", "/products?"+q.Encode(), nil)
	j.think()
	if !j.fillCart(1) {
		return
	}
	body := j.checkoutBody(pick(j.rng, okCards), "", pick(j.rng, unicodeSamples)+" "+pick(j.rng, unicodeSamples))
	body["shipping"].(map[string]any)["notes"] = pick(j.rng, unicodeSamples)
	j.call(http.MethodPost, "POST /checkout", "/checkout", body)
}

var sqlSamples = []string{`' OR 1=1 --`, `Robert'); DROP TABLE carts;--`, `"; SELECT * FROM payments; --`,
	`1; DELETE FROM products`, `%' UNION SELECT sku FROM stock --`, `<script>alert("x")</script>`, `O'Brien "The Rock"`, `\'; --`}

func quotesAndSQL(j *journey) {
	q := url.Values{"q": {pick(j.rng, sqlSamples)}, "category": {pick(j.rng, sqlSamples)}}
	j.call(http.MethodGet, "GET /products", "/products?"+q.Encode(), nil)
	j.think()
	j.addToCart(j.product().ID, 1, pick(j.rng, sqlSamples))
	j.think()
	if j.cart == "" {
		return
	}
	j.call(http.MethodPost, "POST /checkout", "/checkout", j.checkoutBody(pick(j.rng, okCards), pick(j.rng, sqlSamples), pick(j.rng, sqlSamples)))
}

func boundaryValues(j *journey) {
	p := j.product()
	j.addToCart(p.ID, pick(j.rng, []int{-1, 1001, 1 << 31, -2147483648}), "")
	j.think()
	j.addToCart(0, 1, "")
	j.think()
	q := url.Values{"page_size": {pick(j.rng, []string{"100000", "-5", "0"})}, "page": {pick(j.rng, []string{"-1", "999999", "abc"})}}
	j.call(http.MethodGet, "GET /products", "/products?"+q.Encode(), nil)
	j.think()
	j.call(http.MethodGet, "GET /products/{id}", "/products/"+pick(j.rng, []string{"-1", "0", "99999999999999999999", "abc"}), nil)
}

func malformedJSON(j *journey) {
	bodies := []rawJSON{rawJSON(`{"cart_id": "c1", "email": `), rawJSON(`{"product_id": "seven", "quantity": "two"}`),
		rawJSON(`[1, 2, 3]`), rawJSON(`{"order_id": {"nested": true}}`), rawJSON(`not json at all`)}
	j.call(http.MethodPost, "POST /checkout", "/checkout", pick(j.rng, bodies))
	j.think()
	j.call(http.MethodPost, "POST /cart/add", "/cart/add", pick(j.rng, bodies))
	j.think()
	j.call(http.MethodPost, "POST /payment", "/payment", pick(j.rng, bodies))
}
