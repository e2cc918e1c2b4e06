"""Races as production has them: actions in threads of their own, each with its own database connection."""
import threading

from django.db import connection


def run_at_once(*actions):
    """
    Start every action in its own thread and database connection at the same moment; return the exceptions they
    raised. A thread starts with no scope, as a worker or a request does before pretix sets one: each action sets
    its own (``scope(organizer=...)`` for the plugin's code, ``scopes_disabled()`` for the test's own reads).
    """
    barrier = threading.Barrier(len(actions))
    errors = []

    def run(action):
        try:
            barrier.wait(timeout=30)
            action()
        except Exception as e:  # noqa: B902 - collected and asserted on by the test
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), 'a thread hung'
    return errors
