"""Catalogue and prices: currencies and monthly exchange rates, units, products with attributes,
variants (SKUs), alternative units and a configurable bundle, four price books with entries and
tiers, promotions and quotas. All set up by the admin on the first day of the history; finance
records each month's exchange rates on its first workday.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from tessera.records.service import UnitOfWork

from .catalog_data import CURRENCIES, PRODUCTS, UNITS, Attribute, ProductData, money
from .context import DemoContext, Sellable, Stub
from .users import admin, finance

#: price books: code -> (name, currency, priority, applies_to, segments, factor of the standard price)
PRICE_BOOKS: dict[str, tuple[str, str, int, str, list[str] | None, Decimal]] = {
    "STD-CNY": ("标准价目表（人民币）", "CNY", 0, "all", None, Decimal(1)),
    "EXPORT-USD": ("Export price list (USD) 出口价目表", "USD", 5, "all", None, Decimal(1)),
    "KEY-CNY": ("重点客户价目表", "CNY", 20, "segments", ["strategic", "key"], Decimal("0.95")),
    "PARTNER-CNY": ("渠道合作伙伴价目表", "CNY", 30, "accounts", None, Decimal("0.82")),
}
#: (pricing method, tiers as (from, to, factor of the list price)) per product code
TIERS: dict[str, tuple[str, tuple[tuple[int, int | None, str], ...]]] = {
    "XC-LIC-DEVICE": ("slab", ((0, 500, "1"), (500, 2000, "0.8"), (2000, None, "0.6"))),
    "XC-SIM": ("range", ((0, 100, "1"), (100, 1000, "0.8"), (1000, None, "0.6"))),
    "XC-RVVP": ("range", ((0, 1000, "1"), (1000, None, "0.86"))),
}
TAX_CODES = {"physical": "1090511990000000000", "goods_service": "1090511990000000000",
             "subscription": "3040201010000000000", "usage": "3040203000000000000",
             "project": "3040202000000000000"}


def plan(ctx: DemoContext) -> None:
    """Schedule the catalogue on the first day and the exchange rates every month."""
    tl = ctx.timeline
    day = tl.setup_day
    boss = admin().actor
    _plan_stubs(ctx)
    tl.at(tl.moment(day, 9.0), boss, lambda work: _currencies_and_units(ctx, work))
    for data in PRODUCTS:
        tl.at(tl.moment(day, 9.5), boss, lambda work, data=data: _product(ctx, work, data))
    tl.at(tl.moment(day, 10.5), boss, lambda work: _bundle(ctx, work))
    for code in PRICE_BOOKS:
        tl.at(tl.moment(day, 11.0), boss, lambda work, code=code: _price_book(ctx, work, code))
    tl.at(tl.moment(day, 11.5), boss, lambda work: _promotions_and_quotas(ctx, work))
    _plan_rates(ctx)


def _plan_stubs(ctx: DemoContext) -> None:
    """The catalogue's records and sellable items, known before they are created, so deals
    can be planned with them."""
    ctx.currencies.update({code: Stub() for code, *_ in CURRENCIES})
    ctx.units.update({code: Stub() for code, *_ in UNITS})
    ctx.price_books.update({code: Stub() for code in PRICE_BOOKS})
    for data in PRODUCTS:
        product = ctx.products[data.code] = Stub()
        sellables = []
        for combo in _combinations(data.attributes):
            adjustment = sum(add for _, _, add in combo)
            prices = {code: _book_price(code, Decimal(data.price + adjustment)) for code in PRICE_BOOKS}
            name = " / ".join(value_name for _, value_name, _ in combo)
            sellables.append(Sellable(data.code, data.name, data.product_type, data.category, data.unit, data.tax,
                                      data.billing, prices, product=product, variant=Stub() if combo else None,
                                      unit=ctx.units[data.unit], variant_name=name))
        ctx.sellables[data.code] = sellables


def _currencies_and_units(ctx: DemoContext, work: UnitOfWork) -> None:
    rows = [{"code": code, "name": name, "symbol": symbol, "is_base": code == "CNY", "decimal_places": 2}
            for code, name, symbol, _ in CURRENCIES]
    for (code, *_), record in zip(CURRENCIES, ctx.writer.create_many(work, "currency", rows), strict=True):
        ctx.currencies[code].id = record["id"]
    rows = [{"code": code, "name": name, "symbol": symbol, "unit_type": kind, "decimal_places": places}
            for code, name, symbol, kind, places in UNITS]
    for (code, *_), record in zip(UNITS, ctx.writer.create_many(work, "unit", rows), strict=True):
        ctx.units[code].id = record["id"]


def _product(ctx: DemoContext, work: UnitOfWork, data: ProductData) -> None:
    w = ctx.writer
    unit = ctx.units[data.unit].ref
    values: dict[str, Any] = {
        "name": data.name, "code": data.code, "product_type": data.product_type, "category": data.category,
        "brand": "星辰 Xingchen", "model": data.model or None, "specification": data.spec or None, "unit": unit,
        "status": data.status, "is_bundle": data.is_bundle, "has_variants": bool(data.attributes),
        "standard_price": data.price, "cost_price": data.cost, "tax_rate": data.tax,
        "tax_code": TAX_CODES[data.product_type], "billing_period": data.billing,
        "usage_unit": unit if data.product_type == "usage" else None, "warranty_months": data.warranty,
        "description": data.description or None,
    }
    product = w.create(work, "product", values)
    ctx.products[data.code].id = product["id"]
    for order, attribute in enumerate(data.attributes):
        w.create(work, "product_attribute", {
            "product": product["id"], "name": attribute.name, "code": attribute.code, "usage": "variant",
            "sort_order": order, "values": [
                {"name": name, "code": code, "price_mode": "add" if add else "none",
                 "price_amount": add if add else None, "is_default": i == 0, "sort_order": i}
                for i, (code, name, add) in enumerate(attribute.values)]})
    for combo, sellable in zip(_combinations(data.attributes), ctx.sellables[data.code], strict=True):
        if not combo:
            continue
        codes = [code for code, _, _ in combo]
        assert sellable.variant is not None
        record = w.create(work, "product_variant", {
            "product": product["id"], "name": sellable.variant_name, "sku_code": "-".join([data.code, *codes]).upper(),
            "attribute_values": {a.code: c for a, c in zip(data.attributes, codes, strict=True)},
            "spec_text": f"{data.model} {sellable.variant_name}", "barcode": _ean13(ctx),
            "price_adjustment": sum(add for _, _, add in combo), "weight_kg": Decimal(ctx.rng.randint(150, 9000)) / 1000})
        sellable.variant.id = record["id"]
    for unit_code, factor in data.conversions:
        w.create(work, "unit_conversion", {"product": product["id"], "unit": ctx.units[unit_code].ref,
                                           "factor": factor, "for_sales": True, "barcode": _ean13(ctx)})


def _combinations(attributes: tuple[Attribute, ...]) -> list[tuple[tuple[str, str, int], ...]]:
    return [tuple(combo) for combo in itertools.product(*(a.values for a in attributes))] if attributes else [()]


def _book_price(book: str, standard: Decimal) -> Decimal:
    _, currency, *_, factor = PRICE_BOOKS[book]
    if currency == "USD":
        usd = standard / Decimal("7.1") * Decimal("1.12")
        return money(usd.quantize(Decimal(1)) if usd >= 100 else usd)
    return money(standard * factor)


def _ean13(ctx: DemoContext) -> str:
    """A GS1 China (690–699) EAN-13 barcode with its check digit."""
    body = f"69{ctx.rng.randint(0, 9)}{ctx.rng.randrange(10 ** 9):09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _bundle(ctx: DemoContext, work: UnitOfWork) -> None:
    """The starter kit's options: one gateway, one to three sensors, one platform edition."""
    w = ctx.writer
    bundle = ctx.products["XC-BDL-STARTER"].ref
    gateway = ctx.sellables["XC-EG500"]

    def item(code: str, variant: Stub | None = None, **extra: Any) -> dict[str, Any]:
        return {"product": ctx.products[code].ref, "variant": variant.ref if variant else None, **extra}

    groups = [
        ("网关 Gateway", "gateway", True, 1, 1, "single", [
            item("XC-EG500", gateway[0].variant, is_default=True, is_required=True),
            item("XC-EG500", gateway[1].variant, price_mode="override", override_price=1200)]),
        ("传感器 Sensors", "sensors", True, 1, 3, "multiple", [
            item("XC-TH100", ctx.sellables["XC-TH100"][0].variant, quantity=4, min_quantity=1, max_quantity=20,
                 quantity_editable=True, is_default=True),
            item("XC-VS200", quantity=2, max_quantity=10, quantity_editable=True, price_mode="list"),
            item("XC-PT300", ctx.sellables["XC-PT300"][0].variant, quantity=2, max_quantity=10,
                 quantity_editable=True, price_mode="list")]),
        ("云平台 Platform", "platform", True, 1, 1, "single", [
            item("XC-CLOUD-STD", is_default=True, is_required=True),
            item("XC-CLOUD-PRO", price_mode="override", override_price=32000)]),
    ]
    items: dict[str, list[int]] = {}
    for order, (name, code, required, low, high, selection, rows) in enumerate(groups):
        group = w.create(work, "bom_option_group", {
            "bundle": bundle, "name": name, "code": code, "required": required, "min_options": low,
            "max_options": high, "selection": selection, "sort_order": order,
            "items": [{**row, "sort_order": i} for i, row in enumerate(rows)]})
        items[code] = [r["id"] for r in work.query("bom_item", filter={"group": group["id"]}, sort=["sort_order"]).rows]
    w.create(work, "bom_constraint", {"bundle": bundle, "constraint_type": "requires", "item": items["sensors"][1],
                                      "other_item": items["gateway"][1],
                                      "message": "振动传感器数据量大，需选 5G 网关 / Vibration sensors need the 5G gateway"})
    w.create(work, "bom_constraint", {"bundle": bundle, "constraint_type": "excludes", "item": items["platform"][1],
                                      "other_item": items["sensors"][2], "active": False,
                                      "message": "专业版已含压力监测模板（已停用的旧规则）"})


def _price_book(ctx: DemoContext, work: UnitOfWork, code: str) -> None:
    name, currency, priority, applies_to, segments, _ = PRICE_BOOKS[code]
    values = {"name": name, "code": code, "currency": currency, "effective_from": ctx.timeline.start,
              "priority": priority, "applies_to": applies_to, "segments": segments,
              "prices_include_tax": False, "description": f"{currency} prices; priority {priority}."}
    book = ctx.writer.create(work, "price_book", values, engine={"is_standard": True} if code == "STD-CNY" else None)
    ctx.price_books[code].id = book["id"]
    rows = []
    for product_code, sellables in ctx.sellables.items():
        for sellable in sellables:
            if not _in_book(code, sellable):
                continue
            price = sellable.prices[code]
            method, tiers = TIERS.get(product_code, ("fixed", ()))
            rows.append({
                "price_book": book["id"], "product": sellable.product.ref,
                "variant": sellable.variant.ref if sellable.variant else None, "unit": sellable.unit.ref,
                "pricing_method": method, "list_price": price, "floor_price": money(price * Decimal("0.75")),
                "tiers": [{"from_quantity": low, "to_quantity": high, "unit_price": money(price * Decimal(f))}
                          for low, high, f in tiers]})
    for row in rows:
        ctx.writer.create(work, "price_book_entry", row)
    if code == "STD-CNY":  # alternative units: cable by the roll, DTUs by the box
        for product_code, unit, factor, discount in (("XC-RVVP", "roll", 100, "0.95"), ("XC-DTU30", "box", 10, "0.97")):
            base = ctx.sellables[product_code][0]
            ctx.writer.create(work, "price_book_entry", {
                "price_book": book["id"], "product": base.product.ref, "unit": ctx.units[unit].ref,
                "list_price": money(base.prices[code] * factor * Decimal(discount)), "min_quantity": 1})


def _in_book(code: str, sellable: Sellable) -> bool:
    if sellable.product_code in ("XC-TH90", "XC-PRJ-TRAIN"):
        return False  # discontinued and draft products have no prices
    if code == "EXPORT-USD":
        return sellable.product_type in ("physical", "goods_service", "subscription") and sellable.product_code != "XC-SIM"
    if code == "PARTNER-CNY":
        return sellable.product_type in ("physical", "subscription")
    return True


def _promotions_and_quotas(ctx: DemoContext, work: UnitOfWork) -> None:
    today, w = ctx.today, ctx.writer
    d = dt.timedelta
    product = ctx.products
    promotions = [
        {"name": "年终满减：每满 10,000 减 500", "promotion_type": "threshold", "status": "active",
         "start_date": today - d(days=23), "end_date": today + d(days=38), "threshold_amount": 10000,
         "reduction_amount": 500, "repeat_threshold": True, "max_reduction": 5000, "priority": 10},
        {"name": "传感器全线 9 折（中小客户）", "promotion_type": "percent_off", "status": "active",
         "start_date": today - d(days=60), "end_date": today + d(days=30), "product_scope": "category",
         "product_category": "传感器", "discount_percent": 10, "customer_scope": "segments",
         "segments": ["normal", "small"]},
        {"name": "TH100 买十送一", "promotion_type": "gift", "status": "active", "start_date": today - d(days=90),
         "end_date": today + d(days=90), "product_scope": "product", "product": product["XC-TH100"].ref,
         "buy_quantity": 10, "gift_product": product["XC-TH100"].ref, "gift_quantity": 1, "usage_limit": 200},
        {"name": "入门套装年中特惠价", "promotion_type": "bundle_price", "status": "ended",
         "start_date": today - d(days=170), "end_date": today - d(days=140), "product": product["XC-BDL-STARTER"].ref,
         "bundle_quantity": 1, "bundle_price": 45800},
        {"name": "Cloud renewal ¥2,000 off 云平台续费立减", "promotion_type": "amount_off", "status": "draft",
         "start_date": today + d(days=8), "end_date": today + d(days=98), "product_scope": "product",
         "product": product["XC-CLOUD-STD"].ref, "discount_amount": 2000},
    ]
    w.create_many(work, "promotion", [{"currency": "CNY", **p} for p in promotions])
    w.create_many(work, "quota", [
        {"name": "5G 网关限量供应（每客户每月 20 台）", "product_scope": "product", "product": product["XC-EG500"].ref,
         "account_scope": "each", "period": "monthly", "limit_type": "quantity", "max_quantity": 20,
         "action": "block", "start_date": ctx.timeline.start},
        {"name": "项目类合同季度额度（需审批）", "product_scope": "category", "product_category": "项目实施",
         "account_scope": "segments", "segments": ["normal", "small"], "period": "quarterly", "limit_type": "amount",
         "currency": "CNY", "max_amount": 1000000, "action": "approval", "enforce_on": ["quote"],
         "start_date": ctx.timeline.start},
    ])


def _plan_rates(ctx: DemoContext) -> None:
    """A monthly rate per foreign currency (a gentle random walk), recorded by finance on the
    first workday of each month, plus this year's budget rates."""
    tl, rng = ctx.timeline, ctx.rng
    month = tl.first_day.replace(day=1)
    walk = {code: rate for code, _, _, rate in CURRENCIES if code != "CNY"}
    while month <= tl.last_day:
        day = tl.workday(month)  # the first month's rate on the first business day
        rows = []
        for code, rate in walk.items():
            walk[code] = (rate * Decimal(1 + rng.uniform(-0.012, 0.012))).quantize(Decimal("0.0001"))
            ctx.rates[(code, f"{month:%Y-%m}")] = walk[code]
            rows.append((code, walk[code]))
        tl.at(tl.moment(day, 9.25), finance().actor,
              lambda work, day=day, rows=rows: ctx.writer.create_many(work, "exchange_rate", [
                  {"currency": ctx.currencies[code].ref, "base_currency": ctx.currencies["CNY"].ref,
                   "rate_type": "monthly", "rate": rate, "effective_date": day, "source": "中国外汇交易中心 CFETS"}
                  for code, rate in rows]))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    budget_day = tl.setup_day
    tl.at(tl.moment(budget_day, 9.3), finance().actor, lambda work: ctx.writer.create_many(work, "exchange_rate", [
        {"currency": ctx.currencies[code].ref, "base_currency": ctx.currencies["CNY"].ref, "rate_type": "budget",
         "rate": rate.quantize(Decimal("0.01")), "effective_date": budget_day.replace(month=1, day=1),
         "source": "年度预算汇率 Budget"} for code, _, _, rate in CURRENCIES if code != "CNY"]))
