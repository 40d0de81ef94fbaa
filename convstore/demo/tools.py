"""The demo agents' tools: real @function_tool tools over small, fixed, made-up data.

Each tool is a plain function (the scripts and the scale generator call it to
know what the tool will answer) wrapped by function_tool for the Runner.
"""

import ast
import functools
import json
import operator
import zlib

from agents import function_tool

ORDERS = {
    "A-10492": {
        "customer": "Maya Lindqvist",
        "items": [
            ("Trailhead 2 hiking boots", 1, 149.00),
            ("Merino crew socks (3-pack)", 2, 18.50),
        ],
        "status": "in transit",
        "carrier": "UPS",
        "shipped": "2 days ago",
        "tracking": "Departed facility - Columbus, OH",
        "eta": "Thursday",
    },
    "A-10517": {
        "customer": "Daniel Okafor",
        "items": [("Aero 12 espresso grinder", 1, 229.00)],
        "status": "delivered",
        "carrier": "FedEx",
        "shipped": "6 days ago",
        "tracking": "Delivered - left at front door",
        "eta": "delivered",
    },
    "A-10533": {
        "customer": "Priya Raman",
        "items": [("Linen duvet cover, queen", 1, 119.00), ("Linen pillowcases (pair)", 1, 45.00)],
        "status": "delayed",
        "carrier": "USPS",
        "shipped": "8 days ago",
        "tracking": "In transit, arriving late",
        "eta": "unknown",
    },
    "A-10560": {
        "customer": "Tomás Herrera",
        "items": [("Cast iron skillet 12in", 1, 64.00), ("Skillet handle sleeve", 2, 9.00)],
        "status": "delivered",
        "carrier": "UPS",
        "shipped": "4 days ago",
        "tracking": "Delivered - signed by T. HERRERA",
        "eta": "delivered",
    },
    "A-10588": {
        "customer": "Hannah Becker",
        "items": [("Kids rain jacket, size 6", 1, 54.00), ("Rain boots, size 11", 1, 38.00)],
        "status": "processing",
        "carrier": "not shipped yet",
        "shipped": "not yet",
        "tracking": "Label created",
        "eta": "Monday",
    },
    "A-10602": {
        "customer": "Kenji Watanabe",
        "items": [("Noise-cancelling headphones", 1, 279.00)],
        "status": "delivered",
        "carrier": "DHL",
        "shipped": "9 days ago",
        "tracking": "Delivered - mailroom",
        "eta": "delivered",
    },
    "A-10631": {
        "customer": "Sofia Rossi",
        "items": [("Ceramic pour-over set", 1, 42.00), ("Paper filters (100)", 3, 6.50)],
        "status": "in transit",
        "carrier": "FedEx",
        "shipped": "yesterday",
        "tracking": "On FedEx vehicle for delivery",
        "eta": "today",
    },
    "A-10655": {
        "customer": "Liam O'Connor",
        "items": [("Standing desk frame", 1, 389.00), ("Desk top, walnut 60in", 1, 210.00)],
        "status": "partially shipped",
        "carrier": "XPO Freight",
        "shipped": "3 days ago",
        "tracking": "Frame in transit; top awaiting pickup",
        "eta": "next week",
    },
}

# Made-up forecasts for tomorrow, by city.
WEATHER = {
    "Denver": {
        "condition": "snow showers",
        "high_c": -1,
        "low_c": -7,
        "wind_kmh": 35,
        "rain_mm": 0,
    },
    "Phoenix": {"condition": "sunny", "high_c": 31, "low_c": 17, "wind_kmh": 12, "rain_mm": 0},
    "Seattle": {"condition": "rain", "high_c": 11, "low_c": 6, "wind_kmh": 28, "rain_mm": 14},
    "Chicago": {"condition": "windy, clear", "high_c": 8, "low_c": 1, "wind_kmh": 48, "rain_mm": 0},
    "Austin": {
        "condition": "thunderstorms",
        "high_c": 27,
        "low_c": 19,
        "wind_kmh": 30,
        "rain_mm": 22,
    },
    "Boston": {"condition": "overcast", "high_c": 9, "low_c": 3, "wind_kmh": 22, "rain_mm": 2},
    "Atlanta": {
        "condition": "partly cloudy",
        "high_c": 22,
        "low_c": 12,
        "wind_kmh": 14,
        "rain_mm": 0,
    },
    "Minneapolis": {
        "condition": "freezing fog",
        "high_c": -4,
        "low_c": -11,
        "wind_kmh": 18,
        "rain_mm": 0,
    },
    "Portland": {"condition": "light rain", "high_c": 12, "low_c": 7, "wind_kmh": 20, "rain_mm": 6},
    "Salt Lake City": {
        "condition": "clear",
        "high_c": 6,
        "low_c": -3,
        "wind_kmh": 16,
        "rain_mm": 0,
    },
}

DOCS = [
    (
        "refunds/processing-times",
        "Refund processing times",
        "Refunds to cards post in 3-5 business days; PayPal refunds are instant; store "
        "credit is immediate.",
    ),
    (
        "refunds/damaged-items",
        "Damaged or defective items",
        "Damaged items are refunded without a return when the customer sends a photo "
        "within 30 days.",
    ),
    (
        "shipping/delays",
        "Carrier delays",
        "If tracking has not updated for 5 days, open a carrier trace and offer a free "
        "replacement or refund.",
    ),
    (
        "shipping/freight",
        "Freight deliveries",
        "Freight orders ship in parts; the carrier calls 24 hours ahead to book a delivery window.",
    ),
    (
        "it/vpn-certificate",
        "VPN: certificate expired",
        "Open Company Portal, choose Sync device, then reconnect. Certificates renew "
        "every 90 days.",
    ),
    (
        "it/vpn-cache",
        "VPN client keeps an old certificate",
        "Quit the VPN client, delete ~/Library/Application "
        "Support/GlobalProtect/cert-cache, restart.",
    ),
    (
        "it/okta-push",
        "Okta Verify push notifications not arriving",
        "Re-enable notifications for Okta Verify, then in Okta Verify open the account "
        "and tap Reset.",
    ),
    (
        "it/laptop-refresh",
        "Laptop refresh policy",
        "Laptops are replaced after 36 months; request early refresh through the IT "
        "portal with a reason.",
    ),
    (
        "billing/proration",
        "Proration rules",
        "Upgrades are prorated by remaining days in the cycle; proration credits are not "
        "taxed separately.",
    ),
    (
        "billing/sales-tax",
        "Sales tax on subscriptions",
        "Sales tax applies to the charged amount after credits, at the rate of the "
        "billing address.",
    ),
    (
        "runbooks/checkout-latency",
        "Runbook: checkout-api latency",
        "Check payments-db replica lag, then the Redis hit rate; scale checkout-api to "
        "12 pods if CPU > 70%.",
    ),
    (
        "runbooks/payments-db-failover",
        "Runbook: payments-db failover",
        "Freeze deploys, promote the standby with `pgctl promote payments-db-2`, repoint "
        "PgBouncer, verify writes.",
    ),
    (
        "runbooks/queue-backlog",
        "Runbook: order-events queue backlog",
        "If consumer lag > 50k, scale order-consumer to 8 replicas and check for poison "
        "messages in the DLQ.",
    ),
    (
        "policies/error-budget",
        "SLO and error budgets",
        "99.9% monthly availability allows 43.2 minutes of downtime per 30 days; freeze "
        "risky deploys below 25%.",
    ),
]

SERVICES = {
    "checkout-api": {
        "status": "degraded",
        "p99_ms": 2140,
        "error_rate": "0.8%",
        "note": "payments-db-1 replica lag 41s",
    },
    "payments-db": {
        "status": "degraded",
        "replica_lag_s": 41,
        "connections": "482/500",
        "note": "long-running vacuum on ledger_entries",
    },
    "order-consumer": {"status": "healthy", "lag": 1200, "replicas": 4, "note": ""},
    "search-api": {"status": "healthy", "p99_ms": 180, "error_rate": "0.02%", "note": ""},
    "auth-service": {
        "status": "down",
        "error_rate": "34%",
        "note": "certificate expired at 09:00 UTC",
    },
}


def order_details(order_id: str) -> dict:
    order = ORDERS.get(order_id.strip().upper())
    if order is None:
        return {"error": f"No order {order_id}"}
    lines = [{"item": name, "qty": qty, "price": price} for name, qty, price in order["items"]]
    total = round(sum(qty * price for _, qty, price in order["items"]), 2)
    return {
        "order_id": order_id.upper(),
        **{k: v for k, v in order.items() if k != "items"},
        "lines": lines,
        "total": total,
    }


def refund(order_id: str, amount: float, reason: str) -> dict:
    order = order_details(order_id)
    if "error" in order:
        return order
    if amount > order["total"]:
        return {"error": f"Refund {amount:.2f} exceeds the order total {order['total']:.2f}"}
    number = 7000 + zlib.crc32(f"{order['order_id']}:{amount:.2f}".encode()) % 3000
    return {
        "refund_id": f"RF-{number}",
        "order_id": order["order_id"],
        "amount": round(amount, 2),
        "reason": reason,
        "status": "issued",
        "method": "original payment method",
    }


def forecast(city: str) -> dict:
    weather = WEATHER.get(city.strip().title())
    if weather is None:
        return {"error": f"No forecast for {city}"}
    return {"city": city.strip().title(), "day": "tomorrow", **weather}


@functools.cache  # the scale data set asks the same few questions a million times
def doc_search(query: str, limit: int = 2) -> list[dict]:
    words = {word for word in query.lower().split() if len(word) > 2}

    def score(doc):
        text = " ".join(doc).lower()
        return sum(word in text for word in words)

    ranked = sorted(DOCS, key=score, reverse=True)
    return [
        {"path": path, "title": title, "snippet": snippet}
        for path, title, snippet in ranked[:limit]
        if score((path, title, snippet))
    ]


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


@functools.cache
def evaluate(expression: str) -> float:
    """Arithmetic only: numbers, + - * / ** and parentheses."""

    def walk(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.operand))
        raise ValueError(f"Unsupported expression: {expression}")

    return round(walk(ast.parse(expression, mode="eval").body), 4)


def service_status(service: str) -> dict:
    status = SERVICES.get(service.strip().lower())
    return {"service": service, **status} if status else {"error": f"Unknown service {service}"}


# --- the tools the agents call --------------------------------------------------


@function_tool
def lookup_order(order_id: str) -> str:
    """Look up an order: items, total, status and tracking.

    Args:
        order_id: The order number, like A-10492.
    """
    return json.dumps(order_details(order_id))


@function_tool
def issue_refund(order_id: str, amount: float, reason: str) -> str:
    """Refund part or all of an order to the original payment method.

    Args:
        order_id: The order number.
        amount: Amount to refund in USD.
        reason: Why, in a few words.
    """
    return json.dumps(refund(order_id, amount, reason))


@function_tool
def get_weather(city: str) -> str:
    """Tomorrow's forecast for a city.

    Args:
        city: City name, like Denver.
    """
    return json.dumps(forecast(city))


@function_tool
def search_docs(query: str) -> str:
    """Search the help center, IT knowledge base and runbooks.

    Args:
        query: What to look for.
    """
    return json.dumps(doc_search(query))


@function_tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression.

    Args:
        expression: Numbers with + - * / ** and parentheses.
    """
    try:
        return str(evaluate(expression))
    except (ValueError, SyntaxError, ZeroDivisionError) as exc:
        return f"error: {exc}"


@function_tool
def check_service_status(service: str) -> str:
    """Current health of an internal service.

    Args:
        service: Service name, like checkout-api.
    """
    return json.dumps(service_status(service))


TOOLS = {
    tool.name: tool
    for tool in (
        lookup_order,
        issue_refund,
        get_weather,
        search_docs,
        calculator,
        check_service_status,
    )
}


def run_tool(name: str, arguments: dict) -> str:
    """What the tool named `name` answers, without the Runner (for the scale data)."""
    match name:
        case "lookup_order":
            return json.dumps(order_details(**arguments))
        case "issue_refund":
            return json.dumps(refund(**arguments))
        case "get_weather":
            return json.dumps(forecast(**arguments))
        case "search_docs":
            return json.dumps(doc_search(**arguments))
        case "calculator":
            return str(evaluate(**arguments))
        case "check_service_status":
            return json.dumps(service_status(**arguments))
    raise ValueError(f"Unknown tool {name}")
