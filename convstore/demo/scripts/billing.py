"""Demo conversations of billing operations."""

import random

from ..tools import ORDERS, evaluate, order_details
from .beats import Beat, Persona, Reply, doc_answer, money


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
