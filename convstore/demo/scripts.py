"""What the demo conversations say: five personas, each a sequence of user turns ("beats").

A beat is what the user asks and what the scripted model answers, call by
call: tool calls first (the Runner runs the real tools), then the text. The
text is written from the same data the tools return, so answers match tool
output. Token counts are added later, from the length of what was said.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .tools import ORDERS, doc_search, evaluate, forecast, order_details, refund, service_status


@dataclass
class Reply:
    """One model call: tool calls and/or text, and a reasoning summary for reasoning models."""

    text: str | None = None
    calls: list[tuple[str, dict]] = field(default_factory=list)
    thought: str | None = None


@dataclass
class Beat:
    user: str
    replies: list[Reply]


BeatFn = Callable[[dict], Beat]


@dataclass
class Persona:
    slug: str
    agent_name: str
    instructions: str
    models: list[str]
    context: Callable[[random.Random], dict]
    title: Callable[[dict], str]
    beats: list[BeatFn]  # in order; a conversation takes the first few
    extras: list[BeatFn]  # asked in longer conversations, before the closer
    closer: BeatFn
    fork_at: int  # the turn a demo branch replaces
    alternative: list[BeatFn]  # what the branch asks instead, from fork_at on


def money(value: float) -> str:
    return f"${value:,.2f}"


def number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def doc_answer(query: str, lead: str) -> list[Reply]:
    found = doc_search(query)
    text = lead + " " + found[0]["snippet"] if found else lead
    if found:
        text += f" (help center: {found[0]['path']})"
    return [Reply(calls=[("search_docs", {"query": query})]), Reply(text=text)]


# --- customer support: Larkspur Goods ------------------------------------------------


def support_context(rng: random.Random) -> dict:
    order_id, other = rng.sample(sorted(ORDERS), 2)
    order = order_details(order_id)
    line = rng.choice(order["lines"])
    return {
        "order_id": order_id,
        "other_order": other,
        "first": order["customer"].split()[0],
        "customer": order["customer"],
        "item": line["item"],
        "price": line["price"],
        "damage": rng.choice(
            [
                "the box was crushed and it's cracked",
                "one side is dented",
                "it's scratched all over",
            ]
        ),
    }


def order_status_text(order: dict, first: str) -> str:
    order_id, carrier, tracking = order["order_id"], order["carrier"], order["tracking"]
    match order["status"]:
        case "delivered":
            return (
                f"Thanks, {first}. {carrier} shows order {order_id} as delivered "
                f"(\"{tracking}\"). If it isn't there, check with neighbours or your building's "
                "mailroom; if it still doesn't turn up by tomorrow I can open a claim."
            )
        case "in transit":
            return (
                f"Thanks, {first}. Order {order_id} shipped {order['shipped']} with {carrier}. "
                f'Latest tracking: "{tracking}". It should arrive {order["eta"]}.'
            )
        case "processing":
            return (
                f"Order {order_id} hasn't left our warehouse yet: the shipping label is created "
                f"and it's due to ship by {order['eta']}. You'll get tracking by email as soon as "
                "it's picked up."
            )
        case "partially shipped":
            return (
                f"Order {order_id} ships as freight in two parts with {carrier}: {tracking}. "
                f"Expect delivery {order['eta']}; the carrier calls a day ahead to book a window."
            )
    return (
        f"I'm sorry, {first}: order {order_id} is delayed. It shipped {order['shipped']} with "
        f'{carrier} and the latest scan says "{tracking}". I can open a carrier trace now.'
    )


def support_where(ctx: dict) -> Beat:
    order = order_details(ctx["order_id"])
    return Beat(
        f"Hi, this is {ctx['first']}. My order {ctx['order_id']} hasn't arrived yet, "
        "can you check where it is?",
        [
            Reply(calls=[("lookup_order", {"order_id": ctx["order_id"]})]),
            Reply(text=order_status_text(order, ctx["first"])),
        ],
    )


def support_contents(ctx: dict) -> Beat:
    order = order_details(ctx["order_id"])
    lines = "; ".join(
        f"{line['qty']} x {line['item']} ({money(line['price'])})" for line in order["lines"]
    )
    return Beat(
        "Can you remind me what was in that order and what I paid?",
        [
            Reply(
                text=f"Order {order['order_id']} has: {lines}. Total paid: {money(order['total'])}."
            )
        ],
    )


def support_damaged(ctx: dict) -> Beat:
    result = refund(ctx["order_id"], ctx["price"], "arrived damaged")
    return Beat(
        f"The {ctx['item']} arrived damaged, {ctx['damage']}. Can I get a refund for it?",
        [
            Reply(calls=[("search_docs", {"query": "damaged items refund"})]),
            Reply(
                calls=[
                    (
                        "issue_refund",
                        {
                            "order_id": ctx["order_id"],
                            "amount": ctx["price"],
                            "reason": "arrived damaged",
                        },
                    )
                ]
            ),
            Reply(
                text=(
                    f"I'm sorry about that. Under our damaged-items policy you don't need to "
                    f"send it back. I've refunded {money(result['amount'])} to your "
                    f"{result['method']} (reference {result['refund_id']})."
                )
            ),
        ],
    )


def support_refund_time(ctx: dict) -> Beat:
    return Beat(
        "How long until I see the money?",
        doc_answer("refund processing times card", "Good question."),
    )


def support_address(ctx: dict) -> Beat:
    return Beat(
        "Also, can I change the delivery address for my future orders?",
        [
            Reply(
                text=(
                    "Yes: go to Account > Addresses, add the new address and mark it as default. "
                    "Orders that have already shipped keep their address, but anything placed "
                    "after the change goes to the new one."
                )
            )
        ],
    )


def support_other_order(ctx: dict) -> Beat:
    order = order_details(ctx["other_order"])
    return Beat(
        f"While I have you: my partner ordered {ctx['other_order']}. Any news on that one?",
        [
            Reply(calls=[("lookup_order", {"order_id": ctx["other_order"]})]),
            Reply(text=order_status_text(order, ctx["first"])),
        ],
    )


def support_trace(ctx: dict) -> Beat:
    return Beat(
        "If it doesn't show up, what happens then?",
        doc_answer(
            "shipping delays tracking not updated",
            "If tracking stops moving we step in: ",
        ),
    )


def support_replacement(ctx: dict) -> Beat:
    return Beat(
        f"The {ctx['item']} arrived damaged, {ctx['damage']}. I'd rather have a replacement "
        "than a refund, is that possible?",
        [
            Reply(calls=[("search_docs", {"query": "damaged items replacement"})]),
            Reply(
                text=(
                    f"Yes. You don't need to return the damaged one; just reply with a photo "
                    f"of it and I'll ship a new {ctx['item']} today at no cost, with tracking "
                    "by email."
                )
            ),
        ],
    )


def support_photo(ctx: dict) -> Beat:
    return Beat(
        "I just sent the photo to support@larkspur.example.",
        [
            Reply(
                text=(
                    f"Got it, thanks {ctx['first']}. The replacement {ctx['item']} is booked "
                    "on the next pickup; you'll have tracking within a few hours."
                )
            )
        ],
    )


def support_thanks(ctx: dict) -> Beat:
    return Beat(
        "Great, thanks for the help!",
        [Reply(text=f"You're welcome, {ctx['first']}! Have a good day.")],
    )


SUPPORT = Persona(
    slug="support",
    agent_name="Larkspur support",
    instructions=(
        "You are Larkspur Goods' customer support agent. Look orders up before answering, "
        "follow the help center policies, and refund only what the policy allows."
    ),
    models=["gpt-4.1-mini", "gpt-4o-mini", "gpt-4.1-mini", "ft:gpt-4o-mini:larkspur:support-v3"],
    context=support_context,
    title=lambda ctx: f"{ctx['customer']}: order {ctx['order_id']}",
    beats=[support_where, support_contents, support_damaged, support_refund_time, support_address],
    extras=[support_other_order, support_trace],
    closer=support_thanks,
    fork_at=3,
    alternative=[support_replacement, support_photo],
)


# --- internal IT helpdesk ---------------------------------------------------------------


def it_context(rng: random.Random) -> dict:
    return {
        "name": rng.choice(["Ana", "Marcus", "Wei", "Fatima", "Jonas", "Grace", "Ravi", "Elena"]),
        "app": rng.choice(["Jira", "the staging cluster", "Grafana", "the HR portal"]),
        "team": rng.choice(["data platform", "design", "sales ops", "payments"]),
    }


def it_vpn(ctx: dict) -> Beat:
    return Beat(
        f"Hi, it's {ctx['name']}. The VPN says 'certificate expired' since this morning and "
        f"I can't reach {ctx['app']}.",
        doc_answer("vpn certificate expired", "Your device certificate has expired."),
    )


def it_vpn_cache(ctx: dict) -> Beat:
    return Beat(
        "I synced the device but GlobalProtect still shows the old certificate.",
        doc_answer("vpn client old certificate cache", "The client caches certificates."),
    )


def it_okta(ctx: dict) -> Beat:
    return Beat(
        "That worked, thanks. Different thing: Okta Verify push notifications stopped "
        "arriving on my phone.",
        doc_answer("okta verify push notifications", "This usually fixes it:"),
    )


def it_laptop(ctx: dict) -> Beat:
    return Beat(
        "My laptop is almost 4 years old and the battery dies in an hour. Can I get a new one?",
        doc_answer(
            "laptop refresh policy", "You qualify: at almost 4 years it is past the refresh age."
        ),
    )


def it_laptop_request(ctx: dict) -> Beat:
    return Beat(
        "How do I request it?",
        [
            Reply(
                text=(
                    "Open the IT portal, choose Hardware > Laptop refresh, and give 'battery "
                    "life' as the reason. Your manager gets an approval email; the new laptop "
                    "usually ships within a week."
                )
            )
        ],
    )


def it_sso(ctx: dict) -> Beat:
    status = service_status("auth-service")
    return Beat(
        f"Is something wrong with SSO? The whole {ctx['team']} team is getting login errors.",
        [
            Reply(calls=[("check_service_status", {"service": "auth-service"})]),
            Reply(
                text=(
                    f"Yes: auth-service is {status['status']} ({status['error_rate']} errors), "
                    f"{status['note']}. The identity team is on it; there is nothing to fix "
                    "on your side."
                )
            ),
        ],
    )


def it_reset_profile(ctx: dict) -> Beat:
    return Beat(
        "Syncing didn't help at all. Can you just reset my VPN profile?",
        [
            Reply(
                text=(
                    "I can't reset it from here, but removing the profile and re-adding it "
                    "does the same: in GlobalProtect open Settings > Accounts, remove "
                    "'corp-vpn', then sign in again with your SSO account."
                )
            )
        ],
    )


def it_thanks(ctx: dict) -> Beat:
    return Beat(
        "Perfect, thanks!",
        [Reply(text=f"Glad that's sorted, {ctx['name']}. Ping me if anything else comes up.")],
    )


IT = Persona(
    slug="it",
    agent_name="IT helpdesk",
    instructions=(
        "You are the internal IT helpdesk. Search the knowledge base before answering and "
        "give step-by-step instructions."
    ),
    models=["gpt-4.1-nano", "gpt-5-mini", "gpt-4.1-mini"],
    context=it_context,
    title=lambda ctx: f"VPN certificate expired ({ctx['name']}, {ctx['team']})",
    beats=[it_vpn, it_vpn_cache, it_okta, it_laptop, it_laptop_request],
    extras=[it_sso],
    closer=it_thanks,
    fork_at=2,
    alternative=[it_reset_profile, it_okta],
)


# --- field dispatch: Brightline Solar ---------------------------------------------


def dispatch_context(rng: random.Random) -> dict:
    cities = rng.sample(
        ["Denver", "Phoenix", "Seattle", "Chicago", "Austin", "Boston", "Atlanta", "Portland"], 8
    )
    return {"cities": cities, "crews": rng.choice([2, 3, 4]), "km": rng.choice([180, 260, 410])}


def unsafe(city: str) -> bool:
    weather = forecast(city)
    return weather["wind_kmh"] > 40 or weather["rain_mm"] > 5 or weather["high_c"] < 0


def weather_line(city: str) -> str:
    w = forecast(city)
    verdict = "not safe for rooftop work" if unsafe(city) else "fine for rooftop work"
    return (
        f"{city}: {w['condition']}, {w['low_c']} to {w['high_c']} °C, wind {w['wind_kmh']} km/h, "
        f"{w['rain_mm']} mm rain - {verdict}."
    )


def dispatch_weather(ctx: dict) -> Beat:
    first, second = ctx["cities"][:2]
    return Beat(
        f"We have rooftop installs in {first} and {second} tomorrow. Any weather problems?",
        [
            Reply(
                calls=[("get_weather", {"city": first}), ("get_weather", {"city": second})],
                thought="Two cities: fetch both forecasts at once, then apply the rooftop rules.",
            ),
            Reply(text=f"{weather_line(first)}\n{weather_line(second)}"),
        ],
    )


def dispatch_which(ctx: dict) -> Beat:
    moved = [city for city in ctx["cities"][:2] if unsafe(city)]
    text = (
        f"Move the {' and '.join(moved)} job{'s' if len(moved) > 1 else ''}; "
        "the other one can go ahead."
        if moved
        else "Neither: both forecasts are inside the limits (wind under 40 km/h, under 5 mm rain)."
    )
    return Beat(
        "Rooftop work stops above 40 km/h wind, in rain or below freezing. Which jobs move?",
        [Reply(text=text)],
    )


def dispatch_hours(ctx: dict) -> Beat:
    expression = f"{ctx['crews']} * 7.5"
    return Beat(
        f"If we push one job by a day, how many crew-hours do we lose? It's {ctx['crews']} "
        "crews at 7.5 hours each.",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(text=f"{number(evaluate(expression))} crew-hours for that day."),
        ],
    )


def dispatch_third_city(ctx: dict) -> Beat:
    city = ctx["cities"][2]
    return Beat(
        f"Can you check {city}? We could send those crews there instead.",
        [
            Reply(calls=[("get_weather", {"city": city})]),
            Reply(text=weather_line(city)),
        ],
    )


def dispatch_drive(ctx: dict) -> Beat:
    expression = f"{ctx['km']} * 2 * 0.68 * {ctx['crews']}"
    return Beat(
        f"What would the drive cost? {ctx['km']} km each way, $0.68 per km, one truck per crew.",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(text=f"{money(evaluate(expression))} for {ctx['crews']} trucks there and back."),
        ],
    )


def dispatch_city(index: int) -> BeatFn:
    """A follow-up forecast for the index-th city of the conversation."""

    def beat(ctx: dict) -> Beat:
        city = ctx["cities"][index]
        return Beat(
            f"And {city}? We have a service visit there too.",
            [
                Reply(calls=[("get_weather", {"city": city})]),
                Reply(text=weather_line(city)),
            ],
        )

    return beat


def dispatch_split(ctx: dict) -> Beat:
    expression = f"{number(ctx['crews'] / 2)} * 7.5"
    return Beat(
        "What if we split the crews instead: half go elsewhere, half wait a day?",
        [
            Reply(
                calls=[("calculator", {"expression": expression})],
                thought="Only the waiting half loses a day of work.",
            ),
            Reply(text=f"Then you lose {number(evaluate(expression))} crew-hours instead."),
        ],
    )


def dispatch_done(ctx: dict) -> Beat:
    return Beat(
        "OK, go with that plan. Thanks.",
        [
            Reply(
                text="Done. I'll post the updated schedule in #dispatch and notify the crew leads."
            )
        ],
    )


DISPATCH = Persona(
    slug="dispatch",
    agent_name="Dispatch assistant",
    instructions=(
        "You help Brightline Solar's dispatchers plan rooftop installs. Check the forecast "
        "for every site and use the calculator for hours and costs."
    ),
    models=["gpt-4o", "gpt-4.1", "o4-mini"],
    context=dispatch_context,
    title=lambda ctx: f"Weather check {ctx['cities'][0]} / {ctx['cities'][1]}",
    beats=[dispatch_weather, dispatch_which, dispatch_hours, dispatch_third_city, dispatch_drive],
    extras=[dispatch_city(index) for index in range(3, 8)] + [dispatch_split],
    closer=dispatch_done,
    fork_at=3,
    alternative=[dispatch_split, dispatch_done],
)


# --- billing operations ------------------------------------------------------------


def billing_context(rng: random.Random) -> dict:
    return {
        "old": rng.choice([19, 29, 39]),
        "new": rng.choice([79, 99, 129]),
        "day": rng.randint(5, 25),
        "seats": rng.randint(2, 6),
        "tax": rng.choice([6.25, 7.5, 8.25, 8.875]),
        "order_id": rng.choice(sorted(ORDERS)),
        "company": rng.choice(
            ["Acme Dental", "Northpeak Labs", "Harbor & Pine", "Kestrel Logistics", "Brightside"]
        ),
    }


def proration(ctx: dict) -> str:
    return f"({ctx['new']} - {ctx['old']}) * (30 - {ctx['day']}) / 30"


def seats(ctx: dict) -> str:
    return f"{ctx['seats']} * 12 * (30 - {ctx['day']}) / 30"


def billing_upgrade(ctx: dict) -> Beat:
    expression = proration(ctx)
    return Beat(
        f"{ctx['company']} upgraded from Starter (${ctx['old']}/mo) to Team (${ctx['new']}/mo) on "
        f"day {ctx['day']} of a 30-day cycle. What's the prorated charge?",
        [
            Reply(
                calls=[("calculator", {"expression": expression})],
                thought="Prorate the price difference over the days left in the cycle.",
            ),
            Reply(
                text=(
                    f"{money(evaluate(expression))}: the ${ctx['new'] - ctx['old']} difference "
                    f"for the {30 - ctx['day']} days left in the cycle."
                )
            ),
        ],
    )


def billing_seats(ctx: dict) -> Beat:
    expression = seats(ctx)
    return Beat(
        f"They also added {ctx['seats']} extra seats at $12 each, prorated the same way.",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(
                text=f"The seats come to {money(evaluate(expression))} for the rest of the cycle."
            ),
        ],
    )


def billing_tax(ctx: dict) -> Beat:
    expression = f"({proration(ctx)} + {seats(ctx)}) * (1 + {ctx['tax']} / 100)"
    return Beat(
        f"Total both and add {ctx['tax']}% sales tax.",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(text=f"{money(evaluate(expression))} including {ctx['tax']}% tax."),
        ],
    )


def billing_no_tax(ctx: dict) -> Beat:
    expression = f"{proration(ctx)} + {seats(ctx)}"
    return Beat(
        "Actually their billing address is in Oregon, so no sales tax. Just total both.",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(text=f"{money(evaluate(expression))}, no tax for an Oregon billing address."),
        ],
    )


def billing_tax_rule(ctx: dict) -> Beat:
    return Beat(
        "Does tax apply to the proration credit itself?",
        doc_answer("sales tax proration credits", "No, not separately."),
    )


def billing_order(ctx: dict) -> Beat:
    order = order_details(ctx["order_id"])
    return Beat(
        f"Different customer: they say order {ctx['order_id']} was overcharged. Can you "
        "check the total?",
        [
            Reply(calls=[("lookup_order", {"order_id": ctx["order_id"]})]),
            Reply(
                text=(
                    f"The lines of {ctx['order_id']} add up to {money(order['total'])}, which "
                    "is what we charged, so there's no overcharge. Maybe they're counting a "
                    "discount that expired?"
                )
            ),
        ],
    )


def billing_annual(ctx: dict) -> Beat:
    expression = f"{ctx['new']} * 12 * 0.85"
    return Beat(
        "What would Team cost on the annual plan with the 15% discount?",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(
                text=f"{money(evaluate(expression))} a year, instead of {money(ctx['new'] * 12)}."
            ),
        ],
    )


def billing_thanks(ctx: dict) -> Beat:
    return Beat(
        "Thanks, I'll send them the breakdown.",
        [Reply(text="Sounds good. The invoice preview in Stripe should match these numbers.")],
    )


BILLING = Persona(
    slug="billing",
    agent_name="Billing assistant",
    instructions=(
        "You help the billing team with prorations, taxes and invoices. Always compute with "
        "the calculator; never do arithmetic in your head."
    ),
    models=["gpt-5-mini", "o4-mini", "llama-3.3-70b-instruct"],
    context=billing_context,
    title=lambda ctx: f"{ctx['company']}: Starter to Team proration (day {ctx['day']})",
    beats=[billing_upgrade, billing_seats, billing_tax, billing_tax_rule, billing_order],
    extras=[billing_annual],
    closer=billing_thanks,
    fork_at=3,
    alternative=[billing_no_tax, billing_thanks],
)


# --- SRE on-call ----------------------------------------------------------------------


def oncall_context(rng: random.Random) -> dict:
    return {
        "minutes": rng.choice([12, 19, 26, 38]),
        "engineer": rng.choice(["sam", "noor", "kai"]),
        "incident": rng.randint(2100, 2399),
        "for_minutes": rng.choice([5, 10, 15]),
    }


def status_text(service: str) -> str:
    status = service_status(service)
    figures = ", ".join(
        f"{key} {value}" for key, value in status.items() if key not in ("service", "note")
    )
    note = f" Note: {status['note']}." if status.get("note") else ""
    return f"{service} is {status['status']} ({figures}).{note}"


def oncall_alert(ctx: dict) -> Beat:
    return Beat(
        f"PagerDuty INC-{ctx['incident']}: checkout-api p99 latency above 2s for "
        f"{ctx['for_minutes']} minutes. What's going on?",
        [
            Reply(
                calls=[("check_service_status", {"service": "checkout-api"})],
                thought="Latency alert: look at the service first, then its dependencies.",
            ),
            Reply(text=status_text("checkout-api") + " The replica lag is the likely cause."),
        ],
    )


def oncall_db(ctx: dict) -> Beat:
    return Beat(
        "Is payments-db the cause?",
        [
            Reply(
                calls=[("check_service_status", {"service": "payments-db"})],
                thought="Check replica lag and connections on payments-db.",
            ),
            Reply(
                text=status_text("payments-db")
                + " Checkout reads from the replica, so the lag shows up as latency."
            ),
        ],
    )


def oncall_runbook(ctx: dict) -> Beat:
    return Beat(
        "Find the runbook for checkout latency.",
        doc_answer("checkout-api latency runbook", "Runbook: checkout-api latency."),
    )


def oncall_budget(ctx: dict) -> Beat:
    left = f"30 * 24 * 60 * 0.001 - {ctx['minutes']}"
    share = f"({left}) / (30 * 24 * 60 * 0.001) * 100"
    return Beat(
        f"We've had {ctx['minutes']} minutes of downtime this month against a 99.9% SLO. "
        "How much error budget is left?",
        [
            Reply(
                calls=[("calculator", {"expression": left}), ("calculator", {"expression": share})],
                thought="99.9% of 30 days allows 43.2 minutes; subtract, then as a share.",
            ),
            Reply(
                text=(
                    f"{number(evaluate(left))} minutes, {number(evaluate(share))}% of the "
                    "budget. Below 25% the policy freezes risky deploys."
                )
            ),
        ],
    )


def oncall_failover(ctx: dict) -> Beat:
    return Beat(
        "If payments-db doesn't recover, what's the failover procedure?",
        doc_answer("payments-db failover runbook", "From the runbook:"),
    )


def oncall_others(ctx: dict) -> Beat:
    return Beat(
        "Also check order-consumer and search-api, just to be sure.",
        [
            Reply(
                calls=[
                    ("check_service_status", {"service": "order-consumer"}),
                    ("check_service_status", {"service": "search-api"}),
                ]
            ),
            Reply(text=status_text("order-consumer") + "\n" + status_text("search-api")),
        ],
    )


def oncall_auth(ctx: dict) -> Beat:
    return Beat(
        "Support says some customers can't log in either. Related?",
        [
            Reply(
                calls=[("check_service_status", {"service": "auth-service"})],
                thought="Login failures: check auth-service separately from the DB issue.",
            ),
            Reply(text=status_text("auth-service") + " That's a separate incident."),
        ],
    )


def oncall_queue(ctx: dict) -> Beat:
    return Beat(
        "order-events is backing up behind the slow checkouts. What do we do about the queue?",
        doc_answer("order-events queue backlog consumer lag", "From the queue runbook:"),
    )


def oncall_scale(ctx: dict) -> Beat:
    expression = "12 / 4"
    return Beat(
        "checkout-api CPU is at 78% on 4 pods. How far should we scale it?",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(
                text=(
                    "The runbook says 12 pods above 70% CPU, so 3 times the current 4. "
                    "`kubectl scale deploy/checkout-api --replicas=12`."
                )
            ),
        ],
    )


def oncall_budget_after(ctx: dict) -> Beat:
    expression = f"30 * 24 * 60 * 0.001 - {ctx['minutes']} - 25"
    return Beat(
        "If this incident counts as 25 minutes of downtime, where does that leave the budget?",
        [
            Reply(calls=[("calculator", {"expression": expression})]),
            Reply(
                text=(
                    f"{number(evaluate(expression))} minutes left"
                    + (", overspent: deploy freeze." if evaluate(expression) < 0 else ".")
                )
            ),
        ],
    )


def oncall_status_page(ctx: dict) -> Beat:
    return Beat(
        "Write the status page update.",
        [
            Reply(
                text=(
                    "Investigating: some customers see slow checkouts. We have identified "
                    "the cause in a database replica and are working on a fix. Orders are "
                    "not lost. Next update in 30 minutes."
                )
            )
        ],
    )


def oncall_summary(ctx: dict) -> Beat:
    return Beat(
        "Lag is back under 1s and p99 is normal. Draft a short incident summary.",
        [
            Reply(
                text=(
                    "Incident summary: checkout-api p99 latency exceeded 2s for about 25 "
                    "minutes. Cause: a long-running vacuum on ledger_entries pushed payments-db "
                    "replica lag to 41s; checkout reads from the replica. Resolved when the "
                    f"vacuum finished. On call: {ctx['engineer']}. Follow-up: schedule vacuums "
                    "off-peak and alert on replica lag above 10s."
                ),
                thought="Summarise impact, cause, resolution and follow-ups.",
            )
        ],
    )


ONCALL = Persona(
    slug="oncall",
    agent_name="On-call assistant",
    instructions=(
        "You assist the on-call SRE. Check service status and runbooks before suggesting "
        "actions; be brief."
    ),
    models=["o3", "gpt-5", "o4-mini"],
    context=oncall_context,
    title=lambda ctx: f"INC-{ctx['incident']} checkout-api p99 latency",
    beats=[oncall_alert, oncall_db, oncall_runbook, oncall_budget, oncall_failover],
    extras=[
        oncall_others,
        oncall_auth,
        oncall_queue,
        oncall_scale,
        oncall_budget_after,
        oncall_status_page,
    ],
    closer=oncall_summary,
    fork_at=2,
    alternative=[oncall_failover, oncall_summary],
)

PERSONAS = [SUPPORT, IT, DISPATCH, BILLING, ONCALL]


def max_turns(persona: Persona) -> int:
    return len(persona.beats) + len(persona.extras) + 1


def conversation_beats(persona: Persona, turns: int) -> list[BeatFn]:
    """The persona's first beats, then its extras, then the closer: `turns` beats."""
    body = (persona.beats + persona.extras)[: min(turns, max_turns(persona)) - 1]
    return [*body, persona.closer]
