"""Demo conversations of field dispatch at Brightline Solar."""

import random

from ..tools import evaluate, forecast
from .beats import Beat, BeatFn, Persona, Reply, money, number


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
