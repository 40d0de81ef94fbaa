"""Demo conversations of an internal IT helpdesk."""

import random

from ..tools import service_status
from .beats import Beat, Persona, Reply, doc_answer


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
