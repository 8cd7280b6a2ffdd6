package services

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// FrontendService is the shop's public API and web page. It owns no data:
// every call fans out to the other services.
type FrontendService struct {
	*server
	inventory, cart, checkout, payment, recs *client
}

// NewFrontend builds the frontend; web holds the static site: index.html
// and the other pages (*.html) at its root, served at / and /<page>.html,
// and every file under /static/.
func NewFrontend(env Env, web fs.FS) *FrontendService {
	s := &FrontendService{
		server:    newServer(Frontend, env),
		inventory: newClient(env, Frontend, Inventory),
		cart:      newClient(env, Frontend, Cart),
		checkout:  newClient(env, Frontend, Checkout),
		payment:   newClient(env, Frontend, Payment),
		recs:      newClient(env, Frontend, Recommendations),
	}
	s.accessLog = true
	s.sessionAttr = true
	static := http.FileServerFS(web)
	assets := http.StripPrefix("/static", static)
	s.handle("GET /", func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path != "/" && !isPage(web, r.URL.Path) {
			return fail(http.StatusNotFound, "NotFoundError", fmt.Errorf("no page at %s", truncate(r.URL.Path, 80)), "serve_page", "")
		}
		static.ServeHTTP(w, r)
		return nil
	})
	s.handle("GET /static/", func(w http.ResponseWriter, r *http.Request) error {
		assets.ServeHTTP(w, r)
		return nil
	})
	s.handle("GET /products", s.listProducts)
	s.handle("GET /products/{id}", s.getProduct)
	s.handle("GET /products/{id}/recommendations", s.recommendations)
	s.handle("POST /cart/add", s.addToCart)
	s.handle("GET /cart/{id}", s.getCart)
	s.handle("POST /checkout", s.placeOrder)
	s.handle("POST /payment", s.pay)
	s.handle("GET /inventory/check", s.checkStock)
	s.handle("GET /orders/{id}", s.getOrder)
	return s
}

// Close waits for in-flight work.
func (s *FrontendService) Close() error {
	s.wait()
	return nil
}

func pathEscape(s string) string { return url.PathEscape(s) }

// isPage reports whether path names one of the site's pages (/cart.html).
func isPage(web fs.FS, path string) bool {
	name := strings.TrimPrefix(path, "/")
	if !strings.HasSuffix(name, ".html") || strings.Contains(name, "/") || !fs.ValidPath(name) {
		return false
	}
	info, err := fs.Stat(web, name)
	return err == nil && !info.IsDir()
}

// forward relays a call's answer to the browser: 2xx and 4xx as they came,
// anything else as a logged gateway error.
func (s *FrontendService) forward(w http.ResponseWriter, r *http.Request, c *client, method, template, path string, body any, op string) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.env.Timeouts.Upstream)
	defer cancel()
	status, out, err := c.do(ctx, method, template, path, body)
	if err != nil {
		typ := "UpstreamServiceError"
		var ue *upstreamError
		if !errors.As(err, &ue) {
			typ = "UpstreamConnectionError"
			if isTimeout(err) {
				typ = "UpstreamTimeoutError"
			}
		}
		return relay(err, typ, op, "")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
	return nil
}

func (s *FrontendService) listProducts(w http.ResponseWriter, r *http.Request) error {
	return s.forward(w, r, s.inventory, http.MethodGet, "/products", "/products?"+r.URL.RawQuery, nil, "list_products")
}

func (s *FrontendService) getProduct(w http.ResponseWriter, r *http.Request) error {
	return s.forward(w, r, s.inventory, http.MethodGet, "/products/{id}", "/products/"+pathEscape(r.PathValue("id")), nil, "get_product")
}

func (s *FrontendService) recommendations(w http.ResponseWriter, r *http.Request) error {
	return s.forward(w, r, s.recs, http.MethodGet, "/recommendations", "/recommendations?product_id="+url.QueryEscape(r.PathValue("id")), nil, "get_recommendations")
}

func (s *FrontendService) checkStock(w http.ResponseWriter, r *http.Request) error {
	return s.forward(w, r, s.inventory, http.MethodGet, "/inventory/check", "/inventory/check?"+r.URL.RawQuery, nil, "check_stock")
}

type addToCartRequest struct {
	CartID    string `json:"cart_id"`
	ProductID int    `json:"product_id"`
	Quantity  int    `json:"quantity"`
	Note      string `json:"note,omitempty"`
}

func (s *FrontendService) addToCart(w http.ResponseWriter, r *http.Request) error {
	var req addToCartRequest
	if err := decode(r, &req, "add_to_cart"); err != nil {
		return err
	}
	if req.CartID == "" {
		req.CartID = newID("cart-")
	}
	if req.Quantity == 0 {
		req.Quantity = 1
	}
	return s.forward(w, r, s.cart, http.MethodPost, "/carts/{id}/items", "/carts/"+pathEscape(req.CartID)+"/items",
		addItemRequest{ProductID: req.ProductID, Quantity: req.Quantity, Note: req.Note}, "add_to_cart")
}

func (s *FrontendService) getCart(w http.ResponseWriter, r *http.Request) error {
	return s.forward(w, r, s.cart, http.MethodGet, "/carts/{id}", "/carts/"+pathEscape(r.PathValue("id")), nil, "get_cart")
}

func (s *FrontendService) placeOrder(w http.ResponseWriter, r *http.Request) error {
	var req checkoutRequest
	if err := decode(r, &req, "place_order"); err != nil {
		return err
	}
	return s.forward(w, r, s.checkout, http.MethodPost, "/checkout", "/checkout", req, "place_order")
}

func (s *FrontendService) pay(w http.ResponseWriter, r *http.Request) error {
	var req captureRequest
	if err := decode(r, &req, "pay_order"); err != nil {
		return err
	}
	if req.OrderID == "" {
		return fail(http.StatusBadRequest, "ValidationError", errors.New("order_id is required"), "pay_order", "")
	}
	if err := s.forward(w, r, s.payment, http.MethodPost, "/payments/capture", "/payments/capture", req, "pay_order"); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), fmt.Sprintf("checkout completed for order %s", req.OrderID), slog.String("order_id", req.OrderID))
	return nil
}

func (s *FrontendService) getOrder(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.forward(w, r, s.checkout, http.MethodGet, "/orders/{id}", "/orders/"+pathEscape(id), nil, "get_order")
}
