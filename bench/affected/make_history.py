#!/usr/bin/env python3
"""Writes a small shop project with a reproducible git history for
benchmarking `herd --affected` (see BENCHMARKS.md, "Affected tests").

    python3 make_history.py DIR             # writes a fresh git repo into DIR
    python3 make_history.py --check DIR     # also runs plain pytest at every
                                            # commit and checks which fail

DIR must not exist or be empty. The output is deterministic: the same script
gives the same commit ids (fixed author, committer and dates).

The project: a package `shop/` (13 modules, templates read with open() in
shop/templates/, data files in shop/data/ loaded by functions) and tests/
(about 200 tests in 13 files, a conftest.py with a session-scoped fixture
that loads a data file, tests reading golden files under tests/data/).
The history: 37 commits after the first, most of them small edits of a
function's body, and some of a template, a data file, a module constant, a
test file, a new function with its test, a refactor inside a module; four
commits break tests and later ones fix them; one touches conftest.py.
"""
import os
import subprocess
import sys
import textwrap

FILES = {}


def put(path, text):
    FILES[path] = textwrap.dedent(text).lstrip("\n")


# --------------------------------------------------------------------------
# The first commit.
# --------------------------------------------------------------------------

put("README.md", """
    # shop

    A tiny web shop's order logic: catalog, pricing, tax, coupons, stock,
    shipping, orders, invoices and reports.

    Run the tests with `python -m pytest`.
    """)

put("pytest.ini", """
    [pytest]
    testpaths = tests
    """)

put("shop/__init__.py", '''
    """The shop package."""
    __version__ = "1.0.0"
    ''')

put("shop/config.py", '''
    """Shop-wide settings."""

    CURRENCY = "EUR"
    DECIMALS = 2
    DEFAULT_REGION = "DE"
    FREE_SHIPPING_THRESHOLD = 50.0
    MAX_QTY_PER_LINE = 100
    LOW_STOCK_FACTOR = 1.0
    BULK_TIERS = ((100, 0.15), (50, 0.10), (10, 0.05))
    ''')

put("shop/utils.py", '''
    """Small helpers used all over the shop."""
    import re
    from decimal import ROUND_HALF_UP, Decimal

    _SLUG_STRIP = re.compile(r"[^a-z0-9]+")


    def round_money(value, decimals=2):
        """Rounds half up to `decimals` places, as a till does."""
        quantum = Decimal(1).scaleb(-decimals)
        return float(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


    def slugify(text):
        text = text.strip().lower()
        text = _SLUG_STRIP.sub("-", text)
        return text.strip("-")


    def clamp(value, lo, hi):
        if lo > hi:
            raise ValueError("lo must not exceed hi")
        return max(lo, min(hi, value))


    def chunked(seq, size):
        if size <= 0:
            raise ValueError("size must be positive")
        return [list(seq[i:i + size]) for i in range(0, len(seq), size)]


    def parse_bool(text):
        value = str(text).strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"not a boolean: {text!r}")


    def percent(value, pct):
        return value * pct / 100.0
    ''')

put("shop/money.py", '''
    """A small money type."""
    from shop import config
    from shop.utils import round_money


    class Money:
        __slots__ = ("amount", "currency")

        def __init__(self, amount, currency=None):
            self.amount = round_money(amount, config.DECIMALS)
            self.currency = currency or config.CURRENCY

        def _same_currency(self, other):
            if other.currency != self.currency:
                raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")

        def __add__(self, other):
            if not isinstance(other, Money):
                return NotImplemented
            self._same_currency(other)
            return Money(self.amount + other.amount, self.currency)

        def __sub__(self, other):
            if not isinstance(other, Money):
                return NotImplemented
            self._same_currency(other)
            return Money(self.amount - other.amount, self.currency)

        def __mul__(self, factor):
            return Money(self.amount * factor, self.currency)

        __rmul__ = __mul__

        def __eq__(self, other):
            if not isinstance(other, Money):
                return NotImplemented
            return (self.amount, self.currency) == (other.amount, other.currency)

        def __hash__(self):
            return hash((self.amount, self.currency))

        def __repr__(self):
            return f"Money({self.amount!r}, {self.currency!r})"

        def format(self):
            sign = "-" if self.amount < 0 else ""
            whole, frac = f"{abs(self.amount):.{config.DECIMALS}f}".split(".")
            groups = []
            while len(whole) > 3:
                groups.insert(0, whole[-3:])
                whole = whole[:-3]
            groups.insert(0, whole)
            return f"{sign}{','.join(groups)}.{frac} {self.currency}"

        def allocate(self, ratios):
            """Splits into parts by ratio; leftover cents go to the first parts."""
            total = sum(ratios)
            cents = int(round(self.amount * 100))
            shares = [cents * r // total for r in ratios]
            for i in range(cents - sum(shares)):
                shares[i] += 1
            return [Money(s / 100, self.currency) for s in shares]
    ''')

put("shop/catalog.py", '''
    """The product catalog, loaded from data/products.json."""
    import json
    import os
    from dataclasses import dataclass

    from shop.utils import slugify

    DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


    @dataclass(frozen=True)
    class Product:
        sku: str
        name: str
        price: float
        weight: float
        category: str

        @property
        def slug(self):
            return slugify(self.name)


    def load_products(path=None):
        path = path or os.path.join(DATA_DIR, "products.json")
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        return {item["sku"]: Product(**item) for item in raw}


    def by_category(products, category):
        return sorted((p for p in products.values() if p.category == category), key=lambda p: p.sku)


    def search(products, text):
        needle = text.lower()
        return sorted(p.sku for p in products.values() if needle in p.name.lower())


    def price_range(products):
        prices = [p.price for p in products.values()]
        return min(prices), max(prices)
    ''')

put("shop/pricing.py", '''
    """Unit prices, bulk discounts and line totals."""
    from shop import config
    from shop.utils import clamp, round_money


    def bulk_discount(qty):
        for threshold, rate in config.BULK_TIERS:
            if qty >= threshold:
                return rate
        return 0.0


    def unit_price(product, qty):
        qty = clamp(qty, 1, config.MAX_QTY_PER_LINE)
        return round_money(product.price * (1 - bulk_discount(qty)))


    def line_total(product, qty):
        if qty <= 0:
            raise ValueError("quantity must be positive")
        if qty > config.MAX_QTY_PER_LINE:
            raise ValueError(f"at most {config.MAX_QTY_PER_LINE} per line")
        return round_money(unit_price(product, qty) * qty)


    def apply_discount(amount, pct):
        pct = clamp(pct, 0, 100)
        return round_money(amount * (100 - pct) / 100)


    def price_with_margin(cost, margin_pct):
        if margin_pct >= 100:
            raise ValueError("margin must be below 100%")
        return round_money(cost / (1 - margin_pct / 100))
    ''')

put("shop/tax.py", '''
    """VAT by region, rates from data/tax_rates.json."""
    import json
    import os

    from shop import config
    from shop.utils import round_money

    DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


    def load_rates(path=None):
        with open(path or os.path.join(DATA_DIR, "tax_rates.json"), encoding="utf-8") as f:
            return json.load(f)


    def rate_for(region, rates=None):
        rates = rates if rates is not None else load_rates()
        try:
            return rates[region.upper()]
        except KeyError:
            raise ValueError(f"unknown region {region!r}") from None


    def tax_amount(net, region=None):
        return round_money(net * rate_for(region or config.DEFAULT_REGION))


    def gross(net, region=None):
        return round_money(net + tax_amount(net, region))


    def net_from_gross(gross_amount, region=None):
        return round_money(gross_amount / (1 + rate_for(region or config.DEFAULT_REGION)))
    ''')

put("shop/coupons.py", '''
    """Coupon codes, from data/coupons.json."""
    import json
    import os

    from shop.utils import round_money

    DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


    def load_coupons(path=None):
        with open(path or os.path.join(DATA_DIR, "coupons.json"), encoding="utf-8") as f:
            return json.load(f)


    def normalize_code(code):
        return code.strip().upper().replace(" ", "")


    def validate(code, subtotal, coupons=None):
        coupons = coupons if coupons is not None else load_coupons()
        coupon = coupons.get(normalize_code(code))
        if coupon is None:
            raise ValueError(f"unknown coupon {code!r}")
        if subtotal < coupon.get("min_subtotal", 0):
            raise ValueError(f"coupon {code!r} needs a subtotal of {coupon['min_subtotal']}")
        return coupon


    def discount_for(code, subtotal, coupons=None):
        coupon = validate(code, subtotal, coupons)
        return round_money(subtotal * coupon.get("pct", 0) / 100)


    def gives_free_shipping(code, coupons=None):
        coupons = coupons if coupons is not None else load_coupons()
        return bool(coupons.get(normalize_code(code), {}).get("free_shipping"))
    ''')

put("shop/inventory.py", '''
    """Stock levels, from data/stock.csv."""
    import csv
    import os

    from shop import config

    DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


    class StockError(Exception):
        pass


    class Inventory:
        def __init__(self, levels=None, reorder=None):
            self.levels = dict(levels or {})
            self.reorder = dict(reorder or {})
            self.reserved = {}

        @classmethod
        def from_csv(cls, path=None):
            path = path or os.path.join(DATA_DIR, "stock.csv")
            levels, reorder = {}, {}
            with open(path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    levels[row["sku"]] = int(row["qty"])
                    reorder[row["sku"]] = int(row["reorder_level"])
            return cls(levels, reorder)

        def available(self, sku):
            return self.levels.get(sku, 0) - self.reserved.get(sku, 0)

        def reserve(self, sku, qty):
            if qty <= 0:
                raise ValueError("quantity must be positive")
            if self.available(sku) < qty:
                raise StockError(f"not enough {sku}: {self.available(sku)} left")
            self.reserved[sku] = self.reserved.get(sku, 0) + qty

        def release(self, sku, qty):
            held = self.reserved.get(sku, 0)
            if qty > held:
                raise StockError(f"only {held} of {sku} reserved")
            self.reserved[sku] = held - qty

        def ship(self, sku):
            """Ships what is reserved: it leaves the stock."""
            qty = self.reserved.pop(sku, 0)
            self.levels[sku] = self.levels.get(sku, 0) - qty
            return qty

        def low_stock(self):
            return sorted(
                sku for sku in self.levels
                if self.available(sku) <= self.reorder.get(sku, 0) * config.LOW_STOCK_FACTOR
            )

        def restock_plan(self, target_factor=3):
            return {
                sku: self.reorder[sku] * target_factor - self.available(sku)
                for sku in self.low_stock()
            }
    ''')

put("shop/shipping.py", '''
    """Shipping costs by zone, from data/zones.csv."""
    import csv
    import math
    import os

    from shop import config
    from shop.utils import round_money

    DATA_DIR = os.path.join(os.path.dirname(__file__), "data")

    ZONE_OF = {
        "DE": "domestic",
        "AT": "eu1", "NL": "eu1", "LU": "eu1", "FR": "eu1",
        "IT": "eu2", "ES": "eu2",
    }


    def load_zones(path=None):
        zones = {}
        with open(path or os.path.join(DATA_DIR, "zones.csv"), newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                zones[row["zone"]] = (float(row["base"]), float(row["per_kg"]))
        return zones


    def zone_for(region):
        try:
            return ZONE_OF[region.upper()]
        except KeyError:
            raise ValueError(f"we do not ship to {region!r}") from None


    def parcel_count(weight, max_kg=31.5):
        return max(1, math.ceil(weight / max_kg))


    def cost(weight, region, subtotal=0.0, zones=None):
        if subtotal >= config.FREE_SHIPPING_THRESHOLD:
            return 0.0
        zones = zones or load_zones()
        base, per_kg = zones[zone_for(region)]
        return round_money(base * parcel_count(weight) + per_kg * weight)
    ''')

put("shop/orders.py", '''
    """Orders and their totals."""
    from shop import config, coupons, pricing, shipping, tax
    from shop.money import Money
    from shop.utils import round_money


    class OrderLine:
        def __init__(self, product, qty):
            if qty <= 0:
                raise ValueError("quantity must be positive")
            self.product = product
            self.qty = qty

        @property
        def total(self):
            return pricing.line_total(self.product, self.qty)

        @property
        def weight(self):
            return round(self.product.weight * self.qty, 3)


    class Order:
        def __init__(self, region=None, coupon=None):
            self.region = region or config.DEFAULT_REGION
            self.coupon = coupon
            self.lines = []

        def add(self, product, qty=1):
            for line in self.lines:
                if line.product.sku == product.sku:
                    line.qty += qty
                    return line
            line = OrderLine(product, qty)
            self.lines.append(line)
            return line

        def remove(self, sku):
            before = len(self.lines)
            self.lines = [line for line in self.lines if line.product.sku != sku]
            return len(self.lines) != before

        def subtotal(self):
            return round_money(sum(line.total for line in self.lines))

        def discount(self):
            if not self.coupon:
                return 0.0
            return coupons.discount_for(self.coupon, self.subtotal())

        def weight(self):
            return round(sum(line.weight for line in self.lines), 3)

        def shipping(self):
            if self.coupon and coupons.gives_free_shipping(self.coupon):
                return 0.0
            return shipping.cost(self.weight(), self.region, self.subtotal() - self.discount())

        def tax(self):
            return tax.tax_amount(self.subtotal() - self.discount(), self.region)

        def total(self):
            return round_money(self.subtotal() - self.discount() + self.tax() + self.shipping())

        def total_money(self):
            return Money(self.total())

        def summary(self):
            return {
                "lines": len(self.lines),
                "items": sum(line.qty for line in self.lines),
                "subtotal": self.subtotal(),
                "discount": self.discount(),
                "tax": self.tax(),
                "shipping": self.shipping(),
                "total": self.total(),
            }
    ''')

put("shop/render.py", '''
    """A very small template engine: {{ name }} is replaced by context[name]."""
    import os
    import re

    TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "templates")
    _VAR = re.compile(r"\\{\\{\\s*(\\w+)\\s*\\}\\}")


    def load_template(name):
        with open(os.path.join(TEMPLATE_DIR, name + ".txt"), encoding="utf-8") as f:
            return f.read()


    def render_string(text, context):
        def sub(match):
            key = match.group(1)
            if key not in context:
                raise KeyError(f"template variable {key!r} not given")
            return str(context[key])
        return _VAR.sub(sub, text)


    def render(template, /, **context):
        return render_string(load_template(template), context)


    def variables(name):
        return sorted(set(_VAR.findall(load_template(name))))
    ''')

put("shop/invoices.py", '''
    """Invoices, receipts and labels, rendered from templates."""
    from shop import render
    from shop.money import Money


    def invoice_number(seq, year):
        return f"INV-{year}-{seq:05d}"


    def _lines_block(order):
        rows = []
        for line in order.lines:
            rows.append(f"{line.qty:>3} x {line.product.name:<24} {Money(line.total).format():>14}")
        return "\\n".join(rows)


    def invoice_text(order, seq, year=2026):
        return render.render(
            "invoice",
            number=invoice_number(seq, year),
            lines=_lines_block(order),
            subtotal=Money(order.subtotal()).format(),
            discount=Money(order.discount()).format(),
            tax=Money(order.tax()).format(),
            shipping=Money(order.shipping()).format(),
            total=Money(order.total()).format(),
        )


    def receipt_text(order):
        return render.render(
            "receipt",
            items=sum(line.qty for line in order.lines),
            total=Money(order.total()).format(),
        )


    def shipping_label(order, name, address):
        return render.render(
            "shipping_label",
            name=name.upper(),
            address=address,
            region=order.region,
            weight=f"{order.weight():.2f}",
        )
    ''')

put("shop/reports.py", '''
    """Sales reports."""
    import csv
    import io
    from collections import defaultdict

    from shop import render
    from shop.utils import round_money


    def sales_by_category(orders):
        totals = defaultdict(float)
        for order in orders:
            for line in order.lines:
                totals[line.product.category] += line.total
        return {cat: round_money(v) for cat, v in sorted(totals.items())}


    def top_products(orders, n=3):
        qty = defaultdict(int)
        for order in orders:
            for line in order.lines:
                qty[line.product.sku] += line.qty
        return sorted(qty.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


    def to_csv(rows, header):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()


    def read_orders_csv(path):
        with open(path, newline="", encoding="utf-8") as f:
            return [
                {"date": r["date"], "sku": r["sku"], "qty": int(r["qty"]), "amount": float(r["amount"])}
                for r in csv.DictReader(f)
            ]


    def daily_totals(rows):
        totals = defaultdict(float)
        for row in rows:
            totals[row["date"]] += row["amount"]
        return {day: round_money(v) for day, v in sorted(totals.items())}


    def low_stock_alert(inventory):
        low = inventory.low_stock()
        return render.render("low_stock_alert", count=len(low), skus=", ".join(low) or "-")
    ''')

put("shop/templates/invoice.txt", """
    INVOICE {{ number }}
    {{ lines }}
    ----------------------------------------------
    Subtotal: {{ subtotal }}
    Discount: {{ discount }}
    Tax:      {{ tax }}
    Shipping: {{ shipping }}
    TOTAL:    {{ total }}
    """)

put("shop/templates/receipt.txt", """
    Thank you for your order!
    Items: {{ items }}
    Paid:  {{ total }}
    """)

put("shop/templates/shipping_label.txt", """
    TO: {{ name }}
    {{ address }}
    REGION: {{ region }}   WEIGHT: {{ weight }} kg
    """)

put("shop/templates/low_stock_alert.txt", """
    Low stock: {{ count }} product(s)
    {{ skus }}
    """)

put("shop/templates/welcome_email.txt", """
    Hello {{ name }},

    welcome to the shop! Your customer number is {{ number }}.
    """)

put("shop/data/products.json", """
    [
      {"sku": "BK-001", "name": "Python Basics", "price": 29.9, "weight": 0.6, "category": "books"},
      {"sku": "BK-002", "name": "Advanced Testing", "price": 39.5, "weight": 0.8, "category": "books"},
      {"sku": "BK-003", "name": "Go in Practice", "price": 34.0, "weight": 0.7, "category": "books"},
      {"sku": "MG-010", "name": "Coffee Mug", "price": 9.99, "weight": 0.35, "category": "merch"},
      {"sku": "MG-011", "name": "Sticker Pack", "price": 3.5, "weight": 0.02, "category": "merch"},
      {"sku": "MG-012", "name": "Hoodie", "price": 45.0, "weight": 0.9, "category": "merch"},
      {"sku": "HW-100", "name": "USB Cable", "price": 7.25, "weight": 0.05, "category": "hardware"},
      {"sku": "HW-101", "name": "Mechanical Keyboard", "price": 119.0, "weight": 1.2, "category": "hardware"},
      {"sku": "HW-102", "name": "Monitor Stand", "price": 59.0, "weight": 3.4, "category": "hardware"},
      {"sku": "HW-103", "name": "Desk Lamp", "price": 24.99, "weight": 1.1, "category": "hardware"}
    ]
    """)

put("shop/data/tax_rates.json", """
    {"DE": 0.19, "AT": 0.2, "FR": 0.2, "NL": 0.21, "LU": 0.17, "IT": 0.22, "ES": 0.21}
    """)

put("shop/data/coupons.json", """
    {
      "WELCOME10": {"pct": 10},
      "BIG20": {"pct": 20, "min_subtotal": 200},
      "SHIPFREE": {"free_shipping": true}
    }
    """)

put("shop/data/stock.csv", """
    sku,qty,reorder_level
    BK-001,40,10
    BK-002,12,10
    BK-003,5,8
    MG-010,100,20
    MG-011,500,50
    MG-012,8,5
    HW-100,60,15
    HW-101,3,4
    HW-102,9,3
    HW-103,15,5
    """)

put("shop/data/zones.csv", """
    zone,base,per_kg
    domestic,4.9,0.5
    eu1,9.9,1.2
    eu2,12.9,1.5
    """)

# --------------------------------------------------------------------------
# Tests.
# --------------------------------------------------------------------------

put("tests/__init__.py", "")

put("tests/conftest.py", '''
    import pytest

    from shop import catalog
    from shop.inventory import Inventory
    from shop.orders import Order


    @pytest.fixture(scope="session")
    def products():
        return catalog.load_products()


    @pytest.fixture
    def inventory():
        return Inventory.from_csv()


    @pytest.fixture
    def basket(products):
        order = Order(region="DE")
        order.add(products["BK-001"], 2)
        order.add(products["MG-010"], 1)
        return order
    ''')

put("tests/test_utils.py", '''
    import pytest

    from shop.utils import chunked, clamp, parse_bool, percent, round_money, slugify


    @pytest.mark.parametrize("value,expected", [
        (1.005, 1.01), (2.675, 2.68), (0.125, 0.13), (10, 10.0),
        (-1.005, -1.01), (3.14159, 3.14), (0.0, 0.0), (99.999, 100.0),
    ])
    def test_round_money(value, expected):
        assert round_money(value) == expected


    def test_round_money_decimals():
        assert round_money(1.23456, 3) == 1.235


    @pytest.mark.parametrize("text,expected", [
        ("Hello World", "hello-world"),
        ("  Python Basics  ", "python-basics"),
        ("C++ & Go!", "c-go"),
        ("already-a-slug", "already-a-slug"),
        ("Mug (large)", "mug-large"),
        ("", ""),
        ("Ünïcode", "n-code"),
        ("a__b", "a-b"),
    ])
    def test_slugify(text, expected):
        assert slugify(text) == expected


    @pytest.mark.parametrize("value,lo,hi,expected", [
        (5, 0, 10, 5), (-1, 0, 10, 0), (11, 0, 10, 10), (0, 0, 0, 0), (7.5, 1, 7, 7),
    ])
    def test_clamp(value, lo, hi, expected):
        assert clamp(value, lo, hi) == expected


    def test_clamp_bad_bounds():
        with pytest.raises(ValueError):
            clamp(1, 5, 2)


    def test_chunked():
        assert chunked([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
        assert chunked([], 3) == []
        with pytest.raises(ValueError):
            chunked([1], 0)


    @pytest.mark.parametrize("text,expected", [
        ("yes", True), ("On", True), ("1", True), ("no", False), ("", False), (" FALSE ", False),
    ])
    def test_parse_bool(text, expected):
        assert parse_bool(text) is expected


    def test_parse_bool_rejects():
        with pytest.raises(ValueError):
            parse_bool("maybe")


    def test_percent():
        assert percent(200, 15) == 30.0
    ''')

put("tests/test_money.py", '''
    import pytest

    from shop.money import Money


    def test_defaults():
        m = Money(3)
        assert (m.amount, m.currency) == (3.0, "EUR")


    def test_rounds():
        assert Money(1.005).amount == 1.01


    def test_add_sub():
        assert Money(1.5) + Money(2.25) == Money(3.75)
        assert Money(5) - Money(0.01) == Money(4.99)


    def test_mul():
        assert Money(2.5) * 3 == Money(7.5)
        assert 3 * Money(2.5) == Money(7.5)


    def test_currency_mismatch():
        with pytest.raises(ValueError):
            Money(1, "EUR") + Money(1, "USD")


    def test_add_other_type():
        with pytest.raises(TypeError):
            Money(1) + 1


    def test_hash_eq():
        assert len({Money(1), Money(1.0), Money(2)}) == 2


    def test_repr():
        assert repr(Money(2)) == "Money(2.0, 'EUR')"


    @pytest.mark.parametrize("amount,text", [
        (0, "0.00 EUR"),
        (1.5, "1.50 EUR"),
        (999.99, "999.99 EUR"),
        (1000, "1,000.00 EUR"),
        (1234567.891, "1,234,567.89 EUR"),
        (-42.1, "-42.10 EUR"),
    ])
    def test_format(amount, text):
        assert Money(amount).format() == text


    @pytest.mark.parametrize("amount,ratios,parts", [
        (10, [1, 1], [5.0, 5.0]),
        (10, [1, 1, 1], [3.34, 3.33, 3.33]),
        (0.05, [3, 7], [0.02, 0.03]),
        (100, [1], [100.0]),
    ])
    def test_allocate(amount, ratios, parts):
        got = Money(amount).allocate(ratios)
        assert [m.amount for m in got] == parts
        assert round(sum(m.amount for m in got), 2) == amount
    ''')

put("tests/test_catalog.py", '''
    import json

    import pytest

    from shop import catalog


    def test_loads_all(products):
        assert len(products) == 10


    def test_product_fields(products):
        p = products["BK-001"]
        assert p.name == "Python Basics"
        assert p.price == 29.9
        assert p.category == "books"


    @pytest.mark.parametrize("sku,slug", [
        ("BK-001", "python-basics"),
        ("BK-003", "go-in-practice"),
        ("HW-101", "mechanical-keyboard"),
        ("MG-011", "sticker-pack"),
    ])
    def test_slug(products, sku, slug):
        assert products[sku].slug == slug


    @pytest.mark.parametrize("category,count", [("books", 3), ("merch", 3), ("hardware", 4), ("food", 0)])
    def test_by_category(products, category, count):
        assert len(catalog.by_category(products, category)) == count


    def test_by_category_sorted(products):
        skus = [p.sku for p in catalog.by_category(products, "hardware")]
        assert skus == sorted(skus)


    def test_search(products):
        assert catalog.search(products, "mug") == ["MG-010"]
        assert catalog.search(products, "o") == ["BK-001", "BK-003", "HW-101", "HW-102", "MG-010", "MG-012"]


    def test_price_range(products):
        assert catalog.price_range(products) == (3.5, 119.0)


    def test_load_from_path(tmp_path):
        path = tmp_path / "p.json"
        path.write_text(json.dumps([{"sku": "X", "name": "X", "price": 1, "weight": 0, "category": "c"}]))
        assert list(catalog.load_products(str(path))) == ["X"]


    def test_products_are_frozen(products):
        with pytest.raises(Exception):
            products["BK-001"].price = 1
    ''')

put("tests/test_pricing.py", '''
    import pytest

    from shop import pricing
    from shop.catalog import Product

    BOOK = Product("T-1", "Test Book", 20.0, 0.5, "books")
    CHEAP = Product("T-2", "Pen", 1.99, 0.01, "merch")


    @pytest.mark.parametrize("qty,rate", [
        (1, 0.0), (9, 0.0), (10, 0.05), (49, 0.05), (50, 0.10), (99, 0.10), (100, 0.15), (500, 0.15),
    ])
    def test_bulk_discount(qty, rate):
        assert pricing.bulk_discount(qty) == rate


    @pytest.mark.parametrize("qty,price", [(1, 20.0), (10, 19.0), (50, 18.0), (100, 17.0)])
    def test_unit_price(qty, price):
        assert pricing.unit_price(BOOK, qty) == price


    def test_unit_price_clamps_qty():
        assert pricing.unit_price(BOOK, 0) == 20.0


    @pytest.mark.parametrize("product,qty,total", [
        (BOOK, 1, 20.0), (BOOK, 3, 60.0), (BOOK, 10, 190.0), (CHEAP, 7, 13.93), (CHEAP, 50, 89.5),
    ])
    def test_line_total(product, qty, total):
        assert pricing.line_total(product, qty) == total


    @pytest.mark.parametrize("qty", [0, -1, 101])
    def test_line_total_rejects(qty):
        with pytest.raises(ValueError):
            pricing.line_total(BOOK, qty)


    @pytest.mark.parametrize("amount,pct,expected", [
        (100, 10, 90.0), (100, 0, 100.0), (100, 100, 0.0), (19.99, 15, 16.99), (50, 150, 0.0), (50, -5, 50.0),
    ])
    def test_apply_discount(amount, pct, expected):
        assert pricing.apply_discount(amount, pct) == expected


    def test_price_list():
        """The full price list: every product of a big catalog at every quantity."""
        products = [Product(f"P-{i}", f"P {i}", 1 + i / 7, 0.1, "x") for i in range(120)]
        table = {(p.sku, q): pricing.line_total(p, q) for p in products for q in range(1, 101)}
        assert len(table) == 12000


    def test_price_with_margin():
        assert pricing.price_with_margin(60, 40) == 100.0
        with pytest.raises(ValueError):
            pricing.price_with_margin(10, 100)
    ''')

put("tests/test_tax.py", '''
    import pytest

    from shop import tax


    @pytest.mark.parametrize("region,rate", [
        ("DE", 0.19), ("de", 0.19), ("AT", 0.2), ("NL", 0.21), ("LU", 0.17), ("IT", 0.22),
    ])
    def test_rate_for(region, rate):
        assert tax.rate_for(region) == rate


    def test_unknown_region():
        with pytest.raises(ValueError):
            tax.rate_for("XX")


    def test_rate_for_given_rates():
        assert tax.rate_for("ZZ", {"ZZ": 0.5}) == 0.5


    @pytest.mark.parametrize("net,region,amount", [(100, "DE", 19.0), (100, None, 19.0), (9.99, "FR", 2.0), (10, "LU", 1.7)])
    def test_tax_amount(net, region, amount):
        assert tax.tax_amount(net, region) == amount


    def test_gross():
        assert tax.gross(100, "NL") == 121.0


    def test_net_from_gross():
        assert tax.net_from_gross(119, "DE") == 100.0


    def test_rates_file_is_complete():
        rates = tax.load_rates()
        assert set(rates) >= {"DE", "AT", "FR", "NL", "LU", "IT", "ES"}
        assert all(0 < r < 0.3 for r in rates.values())
    ''')

put("tests/test_coupons.py", '''
    import time

    import pytest

    from shop import coupons


    @pytest.fixture(autouse=True)
    def coupon_service():
        time.sleep(0.003)  # the coupon service's test double
        yield


    @pytest.mark.parametrize("raw,code", [("welcome10", "WELCOME10"), (" Big 20 ", "BIG20"), ("SHIPFREE", "SHIPFREE")])
    def test_normalize(raw, code):
        assert coupons.normalize_code(raw) == code


    def test_validate_known():
        assert coupons.validate("WELCOME10", 10)["pct"] == 10


    def test_validate_unknown():
        with pytest.raises(ValueError, match="unknown coupon"):
            coupons.validate("NOPE", 10)


    def test_validate_min_subtotal():
        with pytest.raises(ValueError, match="needs a subtotal"):
            coupons.validate("BIG20", 199.99)


    @pytest.mark.parametrize("code,subtotal,discount", [
        ("WELCOME10", 100, 10.0), ("welcome10", 19.99, 2.0), ("BIG20", 250, 50.0), ("SHIPFREE", 80, 0.0),
    ])
    def test_discount_for(code, subtotal, discount):
        assert coupons.discount_for(code, subtotal) == discount


    def test_free_shipping():
        assert coupons.gives_free_shipping("shipfree")
        assert not coupons.gives_free_shipping("WELCOME10")
        assert not coupons.gives_free_shipping("NOPE")


    def test_given_table():
        assert coupons.discount_for("X", 10, {"X": {"pct": 50}}) == 5.0
    ''')

put("tests/test_inventory.py", '''
    import random
    import time

    import pytest

    from shop.inventory import Inventory, StockError


    @pytest.fixture(autouse=True)
    def warehouse_latency():
        time.sleep(0.004)  # the test double of the warehouse API answers slowly
        yield


    def test_loads(inventory):
        assert inventory.available("BK-001") == 40
        assert len(inventory.levels) == 10


    def test_reserve_release(inventory):
        inventory.reserve("BK-001", 5)
        assert inventory.available("BK-001") == 35
        inventory.release("BK-001", 2)
        assert inventory.available("BK-001") == 37


    def test_reserve_too_much(inventory):
        with pytest.raises(StockError):
            inventory.reserve("HW-101", 4)


    def test_reserve_nonpositive(inventory):
        with pytest.raises(ValueError):
            inventory.reserve("HW-101", 0)


    def test_release_too_much(inventory):
        inventory.reserve("MG-010", 1)
        with pytest.raises(StockError):
            inventory.release("MG-010", 2)


    def test_ship(inventory):
        inventory.reserve("MG-012", 3)
        assert inventory.ship("MG-012") == 3
        assert inventory.levels["MG-012"] == 5
        assert inventory.available("MG-012") == 5


    def test_low_stock(inventory):
        assert inventory.low_stock() == ["BK-003", "HW-101"]


    def test_low_stock_after_reserve(inventory):
        inventory.reserve("BK-002", 3)
        assert "BK-002" in inventory.low_stock()


    def test_restock_plan(inventory):
        assert inventory.restock_plan() == {"BK-003": 19, "HW-101": 9}


    @pytest.mark.parametrize("sku,qty", [("BK-001", 40), ("MG-011", 500), ("HW-103", 15), ("ZZ-999", 0)])
    def test_available(inventory, sku, qty):
        assert inventory.available(sku) == qty


    def test_empty():
        inv = Inventory()
        assert inv.low_stock() == []
        assert inv.available("X") == 0


    def test_simulated_day(inventory):
        """A day of random orders against the stock: reserve, sometimes cancel, ship."""
        rng = random.Random(7)
        skus = sorted(inventory.levels)
        shipped = 0
        for _ in range(100000):
            sku = rng.choice(skus)
            try:
                inventory.reserve(sku, rng.randint(1, 3))
            except StockError:
                continue
            if rng.random() < 0.2:
                inventory.release(sku, 1)
            if rng.random() < 0.5:
                shipped += inventory.ship(sku)
        assert shipped > 0
        assert all(inventory.available(s) >= 0 for s in skus)
    ''')

put("tests/test_shipping.py", '''
    import time

    import pytest

    from shop import shipping


    @pytest.mark.parametrize("region,zone", [("DE", "domestic"), ("at", "eu1"), ("FR", "eu1"), ("ES", "eu2"), ("IT", "eu2")])
    def test_zone_for(region, zone):
        assert shipping.zone_for(region) == zone


    def test_zone_unknown():
        with pytest.raises(ValueError):
            shipping.zone_for("US")


    @pytest.mark.parametrize("weight,count", [(0, 1), (1, 1), (31.5, 1), (31.6, 2), (100, 4)])
    def test_parcel_count(weight, count):
        assert shipping.parcel_count(weight) == count


    @pytest.mark.parametrize("weight,region,subtotal,price", [
        (1, "DE", 10, 5.4),
        (2, "FR", 10, 12.3),
        (2, "ES", 0, 15.9),
        (40, "DE", 49.99, 29.8),
        (1, "DE", 50, 0.0),
        (5, "IT", 100, 0.0),
    ])
    def test_cost(weight, region, subtotal, price):
        assert shipping.cost(weight, region, subtotal) == price


    def test_zones_file():
        zones = shipping.load_zones()
        assert set(zones) == {"domestic", "eu1", "eu2"}


    def test_carrier_quote_roundtrip():
        time.sleep(0.03)  # the carrier sandbox
        assert shipping.cost(3, "NL", 20) == 13.5
    ''')

put("tests/test_orders.py", '''
    import time

    import pytest

    from shop.orders import Order, OrderLine


    @pytest.fixture(autouse=True)
    def db_session():
        time.sleep(0.005)  # a transaction on the test database
        yield


    def test_empty_order():
        order = Order()
        assert order.region == "DE"
        assert order.subtotal() == 0.0
        assert order.weight() == 0.0


    def test_basket_subtotal(basket):
        assert basket.subtotal() == 69.79


    def test_basket_tax(basket):
        assert basket.tax() == 13.26


    def test_basket_free_shipping(basket):
        assert basket.shipping() == 0.0


    def test_basket_total(basket):
        assert basket.total() == 83.05


    def test_add_merges_lines(products):
        order = Order()
        order.add(products["MG-011"], 2)
        order.add(products["MG-011"], 3)
        assert len(order.lines) == 1
        assert order.lines[0].qty == 5


    def test_remove(basket):
        assert basket.remove("MG-010")
        assert not basket.remove("MG-010")
        assert len(basket.lines) == 1


    def test_line_rejects_zero(products):
        with pytest.raises(ValueError):
            OrderLine(products["BK-001"], 0)


    def test_small_order_pays_shipping(products):
        order = Order()
        order.add(products["MG-011"], 2)
        assert order.subtotal() == 7.0
        assert order.shipping() == 4.92


    def test_weight(products):
        order = Order()
        order.add(products["HW-102"], 2)
        order.add(products["HW-100"], 3)
        assert order.weight() == 6.95


    @pytest.mark.parametrize("region,tax", [("DE", 13.26), ("AT", 13.96), ("LU", 11.86), ("IT", 15.35)])
    def test_tax_by_region(products, region, tax):
        order = Order(region=region)
        order.add(products["BK-001"], 2)
        order.add(products["MG-010"], 1)
        assert order.tax() == tax


    def test_coupon_discount(products):
        order = Order(coupon="WELCOME10")
        order.add(products["HW-101"], 1)
        assert order.discount() == 11.9
        assert order.total() == 127.45


    def test_big_coupon_needs_subtotal(products):
        order = Order(coupon="BIG20")
        order.add(products["BK-001"], 1)
        with pytest.raises(ValueError):
            order.discount()


    def test_shipfree_coupon(products):
        order = Order(region="ES", coupon="SHIPFREE")
        order.add(products["MG-011"], 1)
        assert order.shipping() == 0.0


    def test_bulk_order(products):
        order = Order()
        order.add(products["MG-011"], 100)
        assert order.subtotal() == 298.0


    def test_summary(basket):
        s = basket.summary()
        assert s["lines"] == 2
        assert s["items"] == 3
        assert s["total"] == 83.05


    def test_total_money(basket):
        assert basket.total_money().format() == "83.05 EUR"


    @pytest.mark.parametrize("qty", [1, 2, 5, 10, 20, 50])
    def test_total_grows_with_qty(products, qty):
        small, big = Order(), Order()
        small.add(products["BK-002"], qty)
        big.add(products["BK-002"], qty + 1)
        assert big.total() > small.total()
    ''')

put("tests/test_render.py", '''
    import os

    import pytest

    from shop import render

    DATA = os.path.join(os.path.dirname(__file__), "data")


    def test_render_string():
        assert render.render_string("Hi {{ name }}!", {"name": "Ann"}) == "Hi Ann!"


    def test_render_string_spacing():
        assert render.render_string("{{a}}-{{  b  }}", {"a": 1, "b": 2}) == "1-2"


    def test_render_string_missing():
        with pytest.raises(KeyError):
            render.render_string("{{ x }}", {})


    def test_welcome_email():
        with open(os.path.join(DATA, "expected_welcome.txt"), encoding="utf-8") as f:
            expected = f.read()
        assert render.render("welcome_email", name="Ann", number=42) == expected


    @pytest.mark.parametrize("name,variables", [
        ("receipt", ["items", "total"]),
        ("shipping_label", ["address", "name", "region", "weight"]),
        ("low_stock_alert", ["count", "skus"]),
        ("welcome_email", ["name", "number"]),
    ])
    def test_variables(name, variables):
        assert render.variables(name) == variables


    def test_unknown_template():
        with pytest.raises(FileNotFoundError):
            render.load_template("nope")
    ''')

put("tests/test_invoices.py", '''
    import os
    import time

    import pytest

    from shop import invoices
    from shop.orders import Order

    DATA = os.path.join(os.path.dirname(__file__), "data")


    @pytest.fixture(autouse=True)
    def pdf_renderer():
        time.sleep(0.01)  # the PDF renderer's start-up
        yield


    def test_invoice_number():
        assert invoices.invoice_number(7, 2026) == "INV-2026-00007"


    def test_invoice_golden(basket):
        with open(os.path.join(DATA, "expected_invoice.txt"), encoding="utf-8") as f:
            expected = f.read()
        assert invoices.invoice_text(basket, 7) == expected


    def test_invoice_has_total(basket):
        assert "TOTAL:    83.05 EUR" in invoices.invoice_text(basket, 1)


    def test_receipt(basket):
        text = invoices.receipt_text(basket)
        assert "Items: 3" in text
        assert "83.05 EUR" in text


    def test_shipping_label(basket):
        label = invoices.shipping_label(basket, "Ann Smith", "Main St 1, Berlin")
        assert label.splitlines()[0] == "TO: ANN SMITH"
        assert "WEIGHT: 1.55 kg" in label


    def test_invoice_pdf_stub(basket):
        time.sleep(0.05)  # the PDF service stub
        assert invoices.invoice_text(basket, 2).startswith("INVOICE INV-2026-00002")


    def test_many_invoices(products):
        texts = []
        for seq in range(1, 301):
            order = Order(region="FR")
            order.add(products["BK-00%d" % (1 + seq % 3)], 1 + seq % 4)
            texts.append(invoices.invoice_text(order, seq))
        assert len(set(texts)) == 300
    ''')

put("tests/test_reports.py", '''
    import os
    import time

    from shop import reports
    from shop.inventory import Inventory
    from shop.orders import Order

    DATA = os.path.join(os.path.dirname(__file__), "data")


    def _orders(products):
        a, b = Order(), Order()
        a.add(products["BK-001"], 2)
        a.add(products["MG-010"], 1)
        b.add(products["HW-100"], 4)
        b.add(products["BK-001"], 1)
        return [a, b]


    def test_sales_by_category(products):
        assert reports.sales_by_category(_orders(products)) == {"books": 89.7, "hardware": 29.0, "merch": 9.99}


    def test_top_products(products):
        assert reports.top_products(_orders(products), 2) == [("HW-100", 4), ("BK-001", 3)]


    def test_to_csv():
        assert reports.to_csv([(1, "a"), (2, "b")], ["n", "s"]) == "n,s\\n1,a\\n2,b\\n"


    def test_read_orders_csv():
        rows = reports.read_orders_csv(os.path.join(DATA, "sample_orders.csv"))
        assert len(rows) == 8
        assert rows[0] == {"date": "2026-03-01", "sku": "BK-001", "qty": 2, "amount": 59.8}


    def test_daily_totals():
        rows = reports.read_orders_csv(os.path.join(DATA, "sample_orders.csv"))
        assert reports.daily_totals(rows) == {"2026-03-01": 69.79, "2026-03-02": 156.25, "2026-03-03": 125.98}


    def test_low_stock_alert():
        text = reports.low_stock_alert(Inventory.from_csv())
        assert text == "Low stock: 2 product(s)\\nBK-003, HW-101\\n"


    def test_low_stock_alert_none():
        assert "-" in reports.low_stock_alert(Inventory())


    def test_monthly_report(products):
        """A month of orders summed up: the report the accountants run."""
        orders = []
        skus = sorted(products)
        for day in range(30):
            for n in range(150):
                order = Order()
                order.add(products[skus[(day + n) % len(skus)]], 1 + n % 3)
                orders.append(order)
        by_cat = reports.sales_by_category(orders)
        assert {"books", "hardware", "merch"} <= set(by_cat)
        assert reports.top_products(orders, 1)[0][1] > 0


    def test_export_to_warehouse():
        time.sleep(0.25)  # the warehouse's SFTP test server
        assert reports.to_csv([], ["sku"]) == "sku\\n"
    ''')

put("tests/test_integration.py", '''
    import time

    import pytest

    from shop import invoices, reports
    from shop.inventory import Inventory, StockError
    from shop.orders import Order


    @pytest.fixture(autouse=True)
    def transaction():
        time.sleep(0.02)  # the integration database rolls back after each test
        yield


    def _checkout(products, inventory, items, region="DE", coupon=None):
        order = Order(region=region, coupon=coupon)
        for sku, qty in items:
            inventory.reserve(sku, qty)
            order.add(products[sku], qty)
        return order


    def test_checkout_flow(products, inventory):
        order = _checkout(products, inventory, [("BK-001", 2), ("MG-010", 1)])
        assert order.total() == 83.05
        assert inventory.available("BK-001") == 38


    def test_checkout_out_of_stock(products, inventory):
        with pytest.raises(StockError):
            _checkout(products, inventory, [("HW-101", 5)])


    @pytest.mark.parametrize("region", ["DE", "AT", "FR", "NL", "IT", "ES"])
    def test_checkout_regions(products, inventory, region):
        order = _checkout(products, inventory, [("MG-011", 3)], region=region)
        assert order.total() > order.subtotal()
        assert invoices.receipt_text(order).startswith("Thank you")


    def test_end_of_day(products, inventory):
        orders = [_checkout(products, inventory, [("BK-001", 1), ("HW-100", 2)]) for _ in range(10)]
        for sku in ("BK-001", "HW-100"):
            inventory.ship(sku)
        assert inventory.levels["BK-001"] == 30
        assert reports.top_products(orders, 1) == [("HW-100", 20)]


    def test_black_friday(products):
        """Thousands of orders with coupons: prices, tax and shipping together."""
        inventory = Inventory({sku: 10**6 for sku in products}, {})
        totals = 0.0
        skus = sorted(products)
        for n in range(1500):
            coupon = "WELCOME10" if n % 3 == 0 else None
            order = _checkout(products, inventory, [(skus[n % len(skus)], 1 + n % 5), ("MG-011", 1)],
                              region=("DE", "FR", "IT")[n % 3], coupon=coupon)
            totals += order.total()
        assert totals > 0


    def test_full_invoice_run(products):
        time.sleep(0.2)  # the mail server stub
        order = Order()
        order.add(products["HW-103"], 1)
        assert "INVOICE" in invoices.invoice_text(order, 99)


    def test_nightly_sync(inventory):
        time.sleep(0.4)  # the ERP sandbox
        assert inventory.low_stock() == ["BK-003", "HW-101"]
    ''')

put("tests/data/expected_welcome.txt", """
    Hello Ann,

    welcome to the shop! Your customer number is 42.
    """)

put("tests/data/sample_orders.csv", """
    date,sku,qty,amount
    2026-03-01,BK-001,2,59.8
    2026-03-01,MG-010,1,9.99
    2026-03-02,HW-101,1,119.0
    2026-03-02,HW-100,3,21.75
    2026-03-02,MG-011,1,3.5
    2026-03-02,MG-011,3,12.0
    2026-03-03,BK-002,2,79.0
    2026-03-03,BK-001,1,46.98
    """)

# expected_invoice.txt is rendered by the code itself (see GOLDEN below).

GOLDEN_SCRIPT = """
import sys
from shop import catalog, invoices
from shop.orders import Order
products = catalog.load_products()
order = Order(region="DE")
order.add(products["BK-001"], 2)
order.add(products["MG-010"], 1)
sys.stdout.write(invoices.invoice_text(order, 7))
"""
GOLDEN = "tests/data/expected_invoice.txt"

# --------------------------------------------------------------------------
# The history: each commit is a function that edits FILES.
# --------------------------------------------------------------------------

COMMITS = []  # (subject, function, failing test ids expected, regenerate golden)


_BROKEN = set()


def commit(subject, breaks=(), fixes=(), golden=False):
    """Registers a commit; breaks and fixes name the tests it makes fail or pass again."""
    _BROKEN.update(breaks)
    _BROKEN.difference_update(fixes)

    def register(fn):
        COMMITS.append((subject, fn, sorted(_BROKEN), golden))
        return fn
    return register


def _unindent(text):
    """Multi-line edits are written 4 spaces deeper than the code they match."""
    if "\n" not in text:
        return text
    return "\n".join(line[4:] if line.startswith("    ") else line for line in text.split("\n"))


def edit(path, old, new):
    old, new = _unindent(old), _unindent(new)
    text = FILES[path]
    if text.count(old) != 1:
        raise SystemExit(f"make_history: {path}: expected the text once, found it {text.count(old)} times:\n{old}")
    FILES[path] = text.replace(old, new)


def append(path, text):
    FILES[path] = FILES[path].rstrip("\n") + "\n" + textwrap.dedent(text)


@commit("utils: slugify in one expression")
def _():
    edit("shop/utils.py", '''\
        text = text.strip().lower()
        text = _SLUG_STRIP.sub("-", text)
        return text.strip("-")
    ''', '''\
        return _SLUG_STRIP.sub("-", text.strip().lower()).strip("-")
    ''')


@commit("pricing: bulk_discount walks the tiers largest first, whatever their order in config")
def _():
    edit("shop/pricing.py", "    for threshold, rate in config.BULK_TIERS:\n",
         "    for threshold, rate in sorted(config.BULK_TIERS, reverse=True):\n")


@commit("templates: the receipt names the shop")
def _():
    edit("shop/templates/receipt.txt", "Thank you for your order!\n", "Thank you for your order at the shop!\n")


@commit("data: two new products, green tea and a notebook")
def _():
    edit("shop/data/products.json", '''\
      {"sku": "HW-103", "name": "Desk Lamp", "price": 24.99, "weight": 1.1, "category": "hardware"}
    ]''', '''\
      {"sku": "HW-103", "name": "Desk Lamp", "price": 24.99, "weight": 1.1, "category": "hardware"},
      {"sku": "FD-200", "name": "Green Tea", "price": 6.5, "weight": 0.25, "category": "food"},
      {"sku": "MG-013", "name": "Notebook", "price": 12.0, "weight": 0.3, "category": "merch"}
    ]''')
    edit("tests/test_catalog.py", "assert len(products) == 10", "assert len(products) == 12")
    edit("tests/test_catalog.py", '[("books", 3), ("merch", 3), ("hardware", 4), ("food", 0)]',
         '[("books", 3), ("merch", 4), ("hardware", 4), ("food", 1), ("toys", 0)]')
    edit("tests/test_catalog.py", '"HW-102", "MG-010", "MG-012"]', '"HW-102", "MG-010", "MG-012", "MG-013"]')


@commit("tax: is_reverse_charge for business customers abroad")
def _():
    append("shop/tax.py", '''

        def is_reverse_charge(region, vat_id=None):
            """A business customer in another EU country pays no VAT here."""
            region = region.upper()
            return bool(vat_id) and region != config.DEFAULT_REGION and region in load_rates()
    ''')
    append("tests/test_tax.py", '''

        @pytest.mark.parametrize("region,vat_id,expected", [
            ("FR", "FR123", True), ("FR", None, False), ("DE", "DE1", False), ("US", "X", False),
        ])
        def test_reverse_charge(region, vat_id, expected):
            assert tax.is_reverse_charge(region, vat_id) is expected
    ''')


@commit("money: format groups thousands with a slice")
def _():
    edit("shop/money.py", '''\
            groups = []
            while len(whole) > 3:
                groups.insert(0, whole[-3:])
                whole = whole[:-3]
            groups.insert(0, whole)
    ''', '''\
            groups = [whole[max(0, i - 3):i] for i in range(len(whole), 0, -3)][::-1]
    ''')


@commit("config: free shipping from 60 EUR")
def _():
    edit("shop/config.py", "FREE_SHIPPING_THRESHOLD = 50.0", "FREE_SHIPPING_THRESHOLD = 60.0")
    edit("tests/test_shipping.py", '(1, "DE", 50, 0.0)', '(1, "DE", 60, 0.0)')


@commit("orders: tax() on the subtotal, simpler",
        breaks=["tests/test_orders.py::test_coupon_discount"])
def _():
    edit("shop/orders.py", "return tax.tax_amount(self.subtotal() - self.discount(), self.region)",
         "return tax.tax_amount(self.subtotal(), self.region)")


@commit("inventory: restock_plan skips products without a reorder level")
def _():
    edit("shop/inventory.py", '''\
                for sku in self.low_stock()
            }
    ''', '''\
                for sku in self.low_stock()
                if sku in self.reorder
            }
    ''')


@commit("orders: tax on the discounted subtotal again (fixes test_coupon_discount)",
        fixes=["tests/test_orders.py::test_coupon_discount"])
def _():
    edit("shop/orders.py", "return tax.tax_amount(self.subtotal(), self.region)",
         "return tax.tax_amount(self.subtotal() - self.discount(), self.region)")


@commit("templates: the invoice thanks the customer", golden=True)
def _():
    append("shop/templates/invoice.txt", "\nThank you for shopping with us.\n")


@commit("render: render_string names every missing variable at once")
def _():
    edit("shop/render.py", '''\
        def sub(match):
            key = match.group(1)
            if key not in context:
                raise KeyError(f"template variable {key!r} not given")
            return str(context[key])
        return _VAR.sub(sub, text)
    ''', '''\
        missing = sorted(set(_VAR.findall(text)) - set(context))
        if missing:
            raise KeyError(f"template variables not given: {', '.join(missing)}")
        return _VAR.sub(lambda match: str(context[match.group(1)]), text)
    ''')


@commit("tests: Money.allocate needs a nonzero ratio")
def _():
    append("tests/test_money.py", '''

        def test_allocate_needs_weights():
            with pytest.raises(ZeroDivisionError):
                Money(10).allocate([0, 0])
    ''')


@commit("data: stock after the March count (BK-003 restocked)",
        breaks=["tests/test_integration.py::test_nightly_sync",
               "tests/test_inventory.py::test_low_stock",
               "tests/test_inventory.py::test_restock_plan",
               "tests/test_reports.py::test_low_stock_alert"])
def _():
    edit("shop/data/stock.csv", "BK-003,5,8\n", "BK-003,30,8\n")


@commit("coupons: normalize_code drops dashes too")
def _():
    edit("shop/coupons.py", 'return code.strip().upper().replace(" ", "")',
         'return code.strip().upper().replace(" ", "").replace("-", "")')


@commit("tests: low stock expectations follow the March count",
        fixes=["tests/test_integration.py::test_nightly_sync",
               "tests/test_inventory.py::test_low_stock",
               "tests/test_inventory.py::test_restock_plan",
               "tests/test_reports.py::test_low_stock_alert"])
def _():
    edit("tests/test_inventory.py", 'assert inventory.low_stock() == ["BK-003", "HW-101"]',
         'assert inventory.low_stock() == ["HW-101"]')
    edit("tests/test_inventory.py", '{"BK-003": 19, "HW-101": 9}', '{"HW-101": 9}')
    edit("tests/test_reports.py", 'Low stock: 2 product(s)\\nBK-003, HW-101\\n', 'Low stock: 1 product(s)\\nHW-101\\n')
    edit("tests/test_integration.py", 'assert inventory.low_stock() == ["BK-003", "HW-101"]',
         'assert inventory.low_stock() == ["HW-101"]')


@commit("catalog: search matches the sku as well as the name")
def _():
    edit("shop/catalog.py", "return sorted(p.sku for p in products.values() if needle in p.name.lower())",
         "return sorted(p.sku for p in products.values() if needle in p.name.lower() or needle in p.sku.lower())")


@commit("reports: average order value")
def _():
    append("shop/reports.py", '''

        def average_order_value(orders):
            orders = [o for o in orders if o.lines]
            if not orders:
                return 0.0
            return round_money(sum(o.subtotal() for o in orders) / len(orders))
    ''')
    append("tests/test_reports.py", '''

        def test_average_order_value(products):
            assert reports.average_order_value(_orders(products)) == 64.35
            assert reports.average_order_value([]) == 0.0
    ''')


@commit("data: 2026 carrier prices for zone eu1")
def _():
    edit("shop/data/zones.csv", "eu1,9.9,1.2\n", "eu1,10.5,1.2\n")
    edit("tests/test_shipping.py", '(2, "FR", 10, 12.3)', '(2, "FR", 10, 12.9)')
    edit("tests/test_shipping.py", 'shipping.cost(3, "NL", 20) == 13.5', 'shipping.cost(3, "NL", 20) == 14.1')


@commit("utils: round_money keeps its quanta in a table")
def _():
    edit("shop/utils.py", '_SLUG_STRIP = re.compile(r"[^a-z0-9]+")\n',
         '_SLUG_STRIP = re.compile(r"[^a-z0-9]+")\n_QUANTA = {d: Decimal(1).scaleb(-d) for d in range(7)}\n')
    edit("shop/utils.py", "    quantum = Decimal(1).scaleb(-decimals)\n",
         "    quantum = _QUANTA.get(decimals) or Decimal(1).scaleb(-decimals)\n")


@commit("money: a thin space between thousands, as the style guide says",
        breaks=["tests/test_money.py::test_format[1000-1,000.00 EUR]",
               "tests/test_money.py::test_format[1234567.891-1,234,567.89 EUR]"])
def _():
    edit("shop/money.py", """return f"{sign}{','.join(groups)}.{frac} {self.currency}\"""",
         """return f"{sign}{'\u202f'.join(groups)}.{frac} {self.currency}\"""")


@commit("inventory: StockError says what is left and what was asked")
def _():
    edit("shop/inventory.py", 'raise StockError(f"not enough {sku}: {self.available(sku)} left")',
         'raise StockError(f"not enough {sku}: {qty} asked, {self.available(sku)} left")')


@commit("money: back to commas between thousands (the invoices' customers asked)",
        fixes=["tests/test_money.py::test_format[1000-1,000.00 EUR]",
               "tests/test_money.py::test_format[1234567.891-1,234,567.89 EUR]"])
def _():
    edit("shop/money.py", """return f"{sign}{'\u202f'.join(groups)}.{frac} {self.currency}\"""",
         """return f"{sign}{','.join(groups)}.{frac} {self.currency}\"""")


@commit("conftest: an empty_inventory fixture")
def _():
    append("tests/conftest.py", '''

        @pytest.fixture
        def empty_inventory():
            return Inventory()
    ''')
    edit("tests/test_inventory.py", '''\
    def test_empty():
        inv = Inventory()
        assert inv.low_stock() == []
        assert inv.available("X") == 0
    ''', '''\
    def test_empty(empty_inventory):
        assert empty_inventory.low_stock() == []
        assert empty_inventory.available("X") == 0
    ''')


@commit("pricing: price_with_margin rounds the margin to basis points first")
def _():
    edit("shop/pricing.py", '''\
        if margin_pct >= 100:
            raise ValueError("margin must be below 100%")
        return round_money(cost / (1 - margin_pct / 100))
    ''', '''\
        margin_pct = round(margin_pct, 2)
        if margin_pct >= 100:
            raise ValueError("margin must be below 100%")
        return round_money(cost / (1 - margin_pct / 100))
    ''')


@commit("templates: LOW STOCK in capitals so the warehouse sees it",
        breaks=["tests/test_reports.py::test_low_stock_alert"])
def _():
    edit("shop/templates/low_stock_alert.txt", "Low stock: {{ count }} product(s)", "LOW STOCK: {{ count }} product(s)")


@commit("shipping: parcel_count rejects negative weights")
def _():
    edit("shop/shipping.py", '''\
    def parcel_count(weight, max_kg=31.5):
        return max(1, math.ceil(weight / max_kg))
    ''', '''\
    def parcel_count(weight, max_kg=31.5):
        if weight < 0:
            raise ValueError("weight must not be negative")
        return max(1, math.ceil(weight / max_kg))
    ''')


@commit("tests: the low stock alert's new heading",
        fixes=["tests/test_reports.py::test_low_stock_alert"])
def _():
    edit("tests/test_reports.py", '"Low stock: 1 product(s)', '"LOW STOCK: 1 product(s)')


@commit("orders: remove() deletes the line in place")
def _():
    edit("shop/orders.py", '''\
            before = len(self.lines)
            self.lines = [line for line in self.lines if line.product.sku != sku]
            return len(self.lines) != before
    ''', '''\
            for i, line in enumerate(self.lines):
                if line.product.sku == sku:
                    del self.lines[i]
                    return True
            return False
    ''')


@commit("data: coupon SPRING15 for the spring sale")
def _():
    edit("shop/data/coupons.json", '"SHIPFREE": {"free_shipping": true}\n',
         '"SHIPFREE": {"free_shipping": true},\n  "SPRING15": {"pct": 15, "min_subtotal": 30}\n')


@commit("render: _VAR is now _PLACEHOLDER")
def _():
    FILES["shop/render.py"] = FILES["shop/render.py"].replace("_VAR", "_PLACEHOLDER")


@commit("README: where the data files live")
def _():
    append("README.md", '''

        Data files are in `shop/data/` (products, stock, tax rates, shipping
        zones, coupons) and templates in `shop/templates/`.
    ''')


@commit("invoices: four digits for the quantity column", golden=True)
def _():
    edit("shop/invoices.py", '{line.qty:>3} x', '{line.qty:>4} x')


@commit("tax: net_from_gross looks the rate up once")
def _():
    edit("shop/tax.py", '''\
        return round_money(gross_amount / (1 + rate_for(region or config.DEFAULT_REGION)))
    ''', '''\
        rate = rate_for(region or config.DEFAULT_REGION)
        return round_money(gross_amount / (1 + rate))
    ''')


@commit("tests: the checkout flow also renders the invoice")
def _():
    edit("tests/test_integration.py", '''\
        assert inventory.available("BK-001") == 38
    ''', '''\
        assert inventory.available("BK-001") == 38
        assert "TOTAL:    83.05 EUR" in invoices.invoice_text(order, 1)
    ''')


@commit("coupons: a discount never exceeds the subtotal")
def _():
    edit("shop/coupons.py", 'return round_money(subtotal * coupon.get("pct", 0) / 100)',
         'return round_money(min(subtotal, subtotal * coupon.get("pct", 0) / 100))')


@commit("reports: sales_by_category skips empty orders")
def _():
    edit("shop/reports.py", '''\
        for order in orders:
            for line in order.lines:
                totals[line.product.category] += line.total
    ''', '''\
        for order in orders:
            if not order.lines:
                continue
            for line in order.lines:
                totals[line.product.category] += line.total
    ''')


# --------------------------------------------------------------------------
# Writing the repository.
# --------------------------------------------------------------------------

def git(repo, *args, env=None):
    return subprocess.run(["git", *args], cwd=repo, check=True, env=env,
                          stdout=subprocess.PIPE, text=True).stdout


def write_all(repo):
    for path, text in FILES.items():
        full = os.path.join(repo, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        try:
            with open(full, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)


def regenerate_golden(repo):
    out = subprocess.run([sys.executable, "-c", GOLDEN_SCRIPT], cwd=repo, check=True,
                         stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).stdout
    FILES[GOLDEN] = out
    write_all(repo)


def do_commit(repo, n, subject):
    date = f"2026-03-{1 + n // 8:02d}T{9 + n % 8:02d}:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dana Dev", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana Dev", "GIT_COMMITTER_EMAIL": "dana@example.com",
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", subject, env=env)


def failing_tests(repo, python):
    """Runs plain pytest at the current state; returns the failing test ids."""
    proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", "-p", "no:randomly"],
                          cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    failed = sorted(line.split(" ", 1)[1].split(" - ")[0] for line in proc.stdout.splitlines()
                    if line.startswith(("FAILED ", "ERROR ")))
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return failed, proc.returncode, last, proc.stdout


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) != 1:
        raise SystemExit(__doc__)
    repo = os.path.abspath(args[0])
    if os.path.exists(repo) and os.listdir(repo):
        raise SystemExit(f"make_history: {repo} is not empty")
    os.makedirs(repo, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Dana Dev")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    FILES[".gitignore"] = "__pycache__/\n.pytest_cache/\n*.pyc\n"
    write_all(repo)
    regenerate_golden(repo)
    steps = [("shop: catalog, pricing, tax, coupons, stock, shipping, orders, invoices, reports", None, [], False)]
    steps += COMMITS
    bad = 0
    for n, (subject, fn, fails, golden) in enumerate(steps):
        if fn is not None:
            fn()
            write_all(repo)
        if golden:
            regenerate_golden(repo)
        do_commit(repo, n, subject)
        if check:
            got, rc, last, out = failing_tests(repo, sys.executable)
            ok = got == fails and (rc == 0) == (not fails)
            print(f"{'ok ' if ok else 'BAD'} {n:2d} {subject[:60]:60s} {last}", flush=True)
            if not ok:
                bad += 1
                print(f"    expected failing: {fails}\n    got failing:      {got} (exit {rc})")
                if rc not in (0, 1):
                    print(out[-3000:])
    print(f"make_history: {len(steps)} commits in {repo}", file=sys.stderr)
    if bad:
        raise SystemExit(f"make_history: {bad} commit(s) did not fail as expected")


if __name__ == "__main__":
    main(sys.argv[1:])
