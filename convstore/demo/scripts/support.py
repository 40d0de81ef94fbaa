"""Demo conversations of customer support at Larkspur Goods."""

import random

from ..tools import ORDERS, order_details, refund
from .beats import Beat, Persona, Reply, doc_answer, money


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
