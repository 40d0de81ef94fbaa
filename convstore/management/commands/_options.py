def add_session_option(parser, help: str) -> None:
    """--session ID, repeatable: the conversations a transfer command works on."""
    parser.add_argument(
        "--session", action="append", default=[], dest="sessions", metavar="ID", help=help
    )
