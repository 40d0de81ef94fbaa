"""Conversation ids that a URL could mistake for something else, for the id tests."""

# Each one a browser would rewrite or a URL parser would split if the id went
# into a path as it is: dot segments, slashes, query and fragment marks,
# percent signs, plus signs, a trailing slash, non-ASCII.
AWKWARD_IDS = [
    "..",
    "../purge/x",
    "x/../y",
    "./a",
    "a/./b",
    "%2e%2e",
    "a/b",
    "q?x=1",
    "h#frag",
    "a%2Fb",
    "plus+sign",
    "trailing/",
    "café crème",
    "🦄",
]

# More for the tests that need no browser: HTML and escape characters, and
# spellings of our own URL encoding.
MORE_AWKWARD_IDS = [
    ".",
    "/leading",
    "sp ace",
    "tilde~2Fx",
    "日本語",
    "quote'\"<b>",
    "back\\slash",
    "user_5F123",
]
