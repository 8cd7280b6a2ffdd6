package services

import (
	"fmt"
	"math/rand/v2"
)

// product is one catalog entry as inventory seeds it.
type product struct {
	ID           int
	SKU          string
	Name         string
	Description  string
	Category     string
	PriceCents   int
	OnHand       int
	Discontinued bool
}

var (
	adjectives = []string{"Ergonomic", "Rustic", "Sleek", "Compact", "Heavy-Duty", "Vintage", "Smart", "Portable",
		"Handcrafted", "Organic", "Wireless", "Premium", "Everyday", "Foldable", "Insulated", "Classic"}
	materials = []string{"Steel", "Oak", "Cotton", "Ceramic", "Bamboo", "Leather", "Glass", "Aluminium", "Wool",
		"Linen", "Walnut", "Copper"}
	nouns = map[string][]string{
		"kitchen":     {"Mug", "Kettle", "Chef Knife", "Cutting Board", "French Press", "Tea Set", "Skillet"},
		"outdoor":     {"Backpack", "Tent", "Water Bottle", "Headlamp", "Camp Chair", "Hammock"},
		"electronics": {"Headphones", "Speaker", "Charger", "Keyboard", "Mouse", "Webcam", "Power Bank"},
		"home":        {"Lamp", "Throw Blanket", "Vase", "Wall Clock", "Cushion", "Rug", "Candle"},
		"apparel":     {"Jacket", "Scarf", "Beanie", "Sneakers", "Hoodie", "Socks", "Rain Coat"},
		"office":      {"Notebook", "Desk Organizer", "Fountain Pen", "Monitor Stand", "Desk Mat"},
	}
	categories = []string{"kitchen", "outdoor", "electronics", "home", "apparel", "office"}
	// A few names outside ASCII, as real catalogs have.
	specialNames = []string{"Café Crème Mug", "東京 Tea Set", "Smörgås Cutting Board", "Crêpe Skillet",
		"Jalapeño Hot Sauce Kit", "Ñandú Wool Scarf", "Zürich Wall Clock", "Øresund Rain Coat"}
)

// discontinuedEvery marks every n-th product discontinued: out of stock and
// never restocked, which is what the out-of-stock paths hit.
const discontinuedEvery = 23

// generateCatalog builds n products deterministically.
func generateCatalog(n int) []product {
	rng := rand.New(rand.NewPCG(42, 1042))
	out := make([]product, 0, n)
	for i := 1; i <= n; i++ {
		cat := categories[rng.IntN(len(categories))]
		ns := nouns[cat]
		name := fmt.Sprintf("%s %s %s", adjectives[rng.IntN(len(adjectives))], materials[rng.IntN(len(materials))], ns[rng.IntN(len(ns))])
		if i%37 == 0 {
			name = specialNames[(i/37)%len(specialNames)]
		}
		p := product{
			ID:          i,
			SKU:         fmt.Sprintf("SKU-%d", 1000+i),
			Name:        name,
			Category:    cat,
			PriceCents:  499 + rng.IntN(30000),
			OnHand:      20 + rng.IntN(480),
			Description: fmt.Sprintf("%s for %s use. Ships in %d days.", name, cat, 1+rng.IntN(5)),
		}
		if i%discontinuedEvery == 0 {
			p.Discontinued, p.OnHand = true, 0
		}
		out = append(out, p)
	}
	return out
}
