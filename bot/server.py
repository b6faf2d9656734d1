"""Rasa's command line with DropDesk's runtime fixes installed: `python -m bot.server run ...`.

The processes of `make run`, the tests and the Docker image start Rasa through here.
"""

from __future__ import annotations

from bot import lock_store, remote_actions, tracker_store


def main() -> None:
    remote_actions.install()
    tracker_store.install()
    lock_store.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
