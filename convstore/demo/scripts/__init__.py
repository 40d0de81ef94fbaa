"""What the demo conversations say: five personas, each a sequence of user turns ("beats").

A beat is what the user asks and what the scripted model answers, call by
call: tool calls first (the Runner runs the real tools), then the text. The
text is written from the same data the tools return, so answers match tool
output. Token counts are added later, from the length of what was said.
"""

from .beats import Beat, BeatFn, Persona, Reply, conversation_beats, max_turns
from .billing import BILLING
from .dispatch import DISPATCH
from .it import IT
from .oncall import ONCALL
from .support import SUPPORT

PERSONAS = [SUPPORT, IT, DISPATCH, BILLING, ONCALL]

__all__ = [
    "PERSONAS",
    "Beat",
    "BeatFn",
    "Persona",
    "Reply",
    "conversation_beats",
    "max_turns",
]
