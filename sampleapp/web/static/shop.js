// The shop's pages: product list (/), product (/product.html?id=), cart
// (/cart.html), checkout (/checkout.html) and order (/order.html?id=), each
// a plain page calling the frontend's JSON API through shopRum.fetch (see
// rum.js). <body data-page="…"> says which page this is.
(function () {
  'use strict';
  const rum = window.shopRum;
  const $ = (sel) => document.querySelector(sel);
  const params = new URLSearchParams(location.search);

  // el('a', {href: '/'}, 'text', child…): DOM without innerHTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }
  const money = (cents) => '$' + (cents / 100).toFixed(2);
  const productURL = (id) => '/product.html?id=' + encodeURIComponent(id);

  class APIError extends Error {
    constructor(status, data) {
      super((data && data.message) || `HTTP ${status}`);
      this.status = status;
      this.type = (data && data.error) || '';
    }
  }
  async function api(method, path, opts) {
    const res = await rum.fetch(method, path, opts);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new APIError(res.status, data);
    return data;
  }

  // say shows the shopper a message; an error is also logged, as pages do,
  // so it reaches the session's events (rum.js reports console.error).
  function say(msg, kind) {
    const s = $('#status');
    s.textContent = msg || '';
    s.className = kind || '';
    if (kind === 'error') console.error(msg);
  }
  function failure(what, e) {
    if (e instanceof APIError) {
      if (e.status >= 500) return `${what}: something went wrong on our side (HTTP ${e.status}). Please try again.`;
      return `${what}: ${e.message}`;
    }
    return `${what}: the shop could not be reached (${e.message}).`;
  }

  // --- cart state ----------------------------------------------------------
  const cart = {
    get id() { return localStorage.getItem('shop.cartId') || ''; },
    set id(v) { if (v) localStorage.setItem('shop.cartId', v); else localStorage.removeItem('shop.cartId'); },
    get count() { return Number(localStorage.getItem('shop.cartCount') || 0); },
    set count(n) { localStorage.setItem('shop.cartCount', String(n)); showCount(); },
    update(view) { this.id = view.cart_id; this.count = view.items.reduce((n, it) => n + it.qty, 0); },
    clear() { this.id = ''; this.count = 0; },
  };
  function showCount() {
    const c = $('#cart-count');
    if (c) c.textContent = String(cart.count);
  }

  // --- product list --------------------------------------------------------
  const PAGE_SIZE = 24;
  async function listPage() {
    const form = $('#search');
    const state = { q: params.get('q') || '', category: params.get('category') || '', sort: params.get('sort') || '', page: Number(params.get('page')) || 1 };
    form.q.value = state.q;
    form.category.value = state.category;
    form.sort.value = state.sort;
    async function load() {
      const qs = new URLSearchParams({ page: state.page, page_size: PAGE_SIZE });
      for (const k of ['q', 'category', 'sort']) if (state[k]) qs.set(k, state[k]);
      const shown = new URLSearchParams();
      for (const k of ['q', 'category', 'sort']) if (state[k]) shown.set(k, state[k]);
      if (state.page > 1) shown.set('page', state.page);
      history.replaceState(null, '', shown.toString() ? '/?' + shown : '/');
      say('Loading…');
      const list = $('#products');
      try {
        const data = await api('GET', '/products?' + qs, { route: '/products' });
        list.replaceChildren(...data.products.map((p) => el('li', { class: 'card' },
          el('a', { href: productURL(p.id), class: 'product-link', dataset: { id: p.id, available: p.available } }, p.name),
          el('div', { class: 'category' }, p.category),
          el('div', { class: 'price' }, money(p.price_cents)),
          el('div', { class: p.available > 0 ? 'stock' : 'stock out' }, p.available > 0 ? `${p.available} in stock` : 'Out of stock'))));
        const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
        $('#page-info').textContent = `Page ${state.page} of ${pages} · ${data.total} products`;
        $('#prev').disabled = state.page <= 1;
        $('#next').disabled = state.page >= pages;
        say(data.products.length === 0 ? 'No products match your search.' : '');
      } catch (e) {
        list.replaceChildren();
        say(failure('Could not load products', e), 'error');
      }
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      Object.assign(state, { q: form.q.value.trim(), category: form.category.value, sort: form.sort.value, page: 1 });
      load();
    });
    for (const name of ['category', 'sort']) form[name].addEventListener('change', () => form.requestSubmit());
    $('#prev').addEventListener('click', () => { state.page--; load(); });
    $('#next').addEventListener('click', () => { state.page++; load(); });
    await load();
  }

  // --- product page --------------------------------------------------------
  async function productPage() {
    const id = params.get('id');
    if (!id) { say('No product chosen.', 'error'); return; }
    let p;
    try {
      p = await api('GET', '/products/' + encodeURIComponent(id), { route: '/products/{id}' });
    } catch (e) {
      $('#product').replaceChildren(el('h1', {}, e.status === 404 ? 'Product not found' : 'Product unavailable'));
      say(failure('Could not load the product', e), 'error');
      return;
    }
    document.title = `${p.name} — Agentic Shop`;
    const qty = el('input', { id: 'qty', name: 'qty', type: 'number', min: 1, max: 99, value: 1, required: true });
    const note = el('input', { id: 'note', name: 'note', type: 'text', maxlength: 200, placeholder: 'Gift note (optional)' });
    const add = el('button', { id: 'add-to-cart', type: 'submit', disabled: p.available <= 0 }, 'Add to cart');
    const form = el('form', { id: 'buy', class: 'buy' },
      el('label', {}, 'Quantity ', qty), el('label', {}, 'Note ', note), add);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      add.disabled = true;
      say('Adding to cart…');
      try {
        const view = await api('POST', '/cart/add', {
          route: '/cart/add',
          body: { cart_id: cart.id || undefined, product_id: p.id, quantity: Number(qty.value) || 1, note: note.value || undefined },
        });
        cart.update(view);
        say(`Added ${p.name} to your cart.`, 'ok');
        await rum.navigate('/cart.html');
      } catch (e) {
        add.disabled = false;
        say(e.status === 409 ? `Sorry, ${p.name} is out of stock.` : failure('Could not add to cart', e), 'error');
      }
    });
    const recs = el('section', { id: 'recommendations' });
    const showRecs = el('button', { id: 'show-recommendations', type: 'button', class: 'secondary' }, 'Show similar products');
    showRecs.addEventListener('click', async () => {
      showRecs.disabled = true;
      try {
        const data = await api('GET', `/products/${encodeURIComponent(p.id)}/recommendations`, { route: '/products/{id}/recommendations' });
        const items = data.products || data.recommendations || [];
        recs.replaceChildren(el('h2', {}, 'You may also like'),
          el('ul', { class: 'grid' }, items.map((r) => el('li', { class: 'card' }, el('a', { href: productURL(r.id) }, r.name)))));
      } catch (e) {
        recs.replaceChildren(el('p', { class: 'muted' }, 'Recommendations are unavailable right now.'));
      }
    });
    $('#product').replaceChildren(
      el('p', { class: 'crumbs' }, el('a', { href: '/' }, 'Products'), ' › ', el('span', {}, p.category)),
      el('h1', { id: 'product-name' }, p.name),
      el('p', { class: 'sku muted' }, p.sku),
      el('p', { class: 'price big' }, money(p.price_cents)),
      el('p', { class: p.available > 0 ? 'stock' : 'stock out' }, p.available > 0 ? `${p.available} in stock` : 'Out of stock'),
      p.description ? el('p', { class: 'description' }, p.description) : null,
      form, showRecs, recs);
    say('');
  }

  // --- cart page -----------------------------------------------------------
  async function loadCart() {
    if (!cart.id) return null;
    try {
      const view = await api('GET', '/cart/' + encodeURIComponent(cart.id), { route: '/cart/{id}' });
      if (view.status && view.status !== 'open') { cart.clear(); return null; }
      cart.update(view);
      return view;
    } catch (e) {
      if (e.status === 404) { cart.clear(); return null; }
      throw e;
    }
  }
  function cartTable(view, editable) {
    const rows = view.items.map((it) => el('tr', {},
      el('td', {}, el('a', { href: productURL(it.product_id) }, it.name)),
      el('td', { class: 'num' }, it.qty),
      el('td', { class: 'num' }, money(it.unit_price_cents)),
      el('td', { class: 'num' }, money(it.qty * it.unit_price_cents)),
      editable ? el('td', {}, el('button', { type: 'button', class: 'secondary more', dataset: { id: it.product_id } }, '+1')) : null));
    const total = (label, cents, id) => el('tr', { class: 'total' }, el('td', { colspan: 3 }, label), el('td', { class: 'num', id }, money(cents)), editable ? el('td') : null);
    return el('table', { class: 'cart' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Product'), el('th', { class: 'num' }, 'Qty'), el('th', { class: 'num' }, 'Price'), el('th', { class: 'num' }, 'Total'), editable ? el('th') : null)),
      el('tbody', {}, rows),
      el('tfoot', {}, total('Subtotal', view.subtotal_cents, 'subtotal'),
        view.discount_cents > 0 ? total('Discount', -view.discount_cents, 'discount') : null,
        total('Total', view.total_cents, 'total')));
  }
  async function cartPage() {
    const main = $('#cart');
    main.addEventListener('click', async (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest('button.more') : null;
      if (!b) return;
      b.disabled = true;
      try {
        cart.update(await api('POST', '/cart/add', { route: '/cart/add', body: { cart_id: cart.id, product_id: Number(b.dataset.id), quantity: 1 } }));
        await renderCart(main);
      } catch (e) {
        b.disabled = false;
        say(e.status === 409 ? 'Sorry, no more of that product is available.' : failure('Could not update your cart', e), 'error');
      }
    });
    await renderCart(main);
  }
  async function renderCart(main) {
    let view;
    try {
      view = await loadCart();
    } catch (e) {
      say(failure('Could not load your cart', e), 'error');
      return;
    }
    if (!view || view.items.length === 0) {
      main.replaceChildren(el('p', { id: 'empty' }, 'Your cart is empty. ', el('a', { href: '/' }, 'Browse products')));
      say('');
      return;
    }
    main.replaceChildren(cartTable(view, true),
      el('p', { class: 'actions' }, el('a', { href: '/', class: 'secondary button' }, 'Continue shopping'), ' ',
        el('a', { href: '/checkout.html', id: 'to-checkout', class: 'button' }, 'Proceed to checkout')));
    say('');
  }

  // --- checkout page -------------------------------------------------------
  async function checkoutPage() {
    const form = $('#checkout-form');
    const summary = $('#summary');
    let view;
    try {
      view = await loadCart();
    } catch (e) {
      say(failure('Could not load your cart', e), 'error');
      return;
    }
    if (!view || view.items.length === 0) {
      form.hidden = true;
      summary.replaceChildren(el('p', { id: 'empty' }, 'Your cart is empty. ', el('a', { href: '/' }, 'Browse products')));
      return;
    }
    summary.replaceChildren(cartTable(view, false));
    const button = $('#place-order');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      button.disabled = true;
      say('Placing your order…');
      let order;
      try {
        order = await api('POST', '/checkout', {
          route: '/checkout',
          body: {
            cart_id: cart.id,
            email: String(f.get('email')).trim(),
            card_number: String(f.get('card_number')).replace(/[\s-]/g, ''),
            coupon: String(f.get('coupon') || '').trim() || undefined,
            shipping: { name: f.get('name'), line1: f.get('line1'), city: f.get('city'), country: f.get('country') },
          },
        });
      } catch (e) {
        button.disabled = false;
        say(e.status === 402 ? `Your card was declined: ${e.message}` : failure('Checkout failed', e), 'error');
        return;
      }
      say('Taking payment…');
      try {
        await api('POST', '/payment', { route: '/payment', body: { order_id: order.order_id, idempotency_key: order.order_id } });
      } catch (e) {
        cart.clear();
        say(failure(`Order ${order.order_id} is placed but payment failed`, e), 'error');
        $('#checkout-form').replaceChildren(el('a', { href: '/order.html?id=' + encodeURIComponent(order.order_id), id: 'order-link' }, 'View the order'));
        return;
      }
      cart.clear();
      await rum.navigate('/order.html?id=' + encodeURIComponent(order.order_id) + '&placed=1');
    });
    say('');
  }

  // --- order page ----------------------------------------------------------
  async function orderPage() {
    const id = params.get('id');
    const main = $('#order');
    if (!id) { say('No order given.', 'error'); return; }
    try {
      const o = await api('GET', '/orders/' + encodeURIComponent(id), { route: '/orders/{id}' });
      main.replaceChildren(
        el('h1', { id: 'order-title' }, params.get('placed') ? 'Thank you for your order!' : 'Your order'),
        el('dl', {},
          el('dt', {}, 'Order'), el('dd', { id: 'order-id' }, o.order_id),
          el('dt', {}, 'Status'), el('dd', { id: 'order-status' }, o.status),
          el('dt', {}, 'Subtotal'), el('dd', {}, money(o.subtotal_cents)),
          o.discount_cents > 0 ? [el('dt', {}, 'Discount'), el('dd', {}, money(-o.discount_cents))] : null,
          el('dt', {}, 'Total'), el('dd', { id: 'order-total' }, money(o.total_cents))),
        el('p', {}, el('a', { href: '/' }, 'Continue shopping')));
      say('');
    } catch (e) {
      say(failure('Could not load the order', e), 'error');
    }
  }

  showCount();
  const pages = { list: listPage, product: productPage, cart: cartPage, checkout: checkoutPage, order: orderPage };
  const run = pages[document.body.dataset.page];
  if (run) {
    run().catch((e) => say(failure('Something went wrong', e), 'error')).finally(() => { document.body.dataset.ready = 'true'; });
  }
})();
