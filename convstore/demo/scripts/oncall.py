"""Demo conversations of an SRE on call."""

import random

from ..tools import evaluate, service_status
from .beats import Beat, Persona, Reply, doc_answer, number


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
