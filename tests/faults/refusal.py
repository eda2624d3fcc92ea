"""Run `galvision` on bad input and return the one line it refuses with."""

import pytest

from galvision.cli import main


def refusal(args: list[str]) -> str:
    """The message `galvision` exits with on ``args``; fails unless it is one line."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    message = str(exit_info.value.code)
    assert message.startswith("galvision: error: ") and "\n" not in message, message
    return message
