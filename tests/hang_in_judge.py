"""A pytest plugin for the judge's own pytest session, loaded there through
``PYTEST_PLUGINS`` by tests/test_backstop.py (never by the project's tests): the grader's
own code hangs in check ``$HANG_CHECK`` of each submission that contains ``MARK``.

``$HANG_HOW`` says how: ``loop`` (Python that runs on: the backstop raises in it),
``read`` (a wait for the worker, which never answers: the backstop kills the worker) or
``lock`` (a wait that nothing interrupts: the backstop gives up on it).
"""

import os
import select
import threading
import time

import pytest

MARK = "# the judge hangs on this submission"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    ctx = item.funcargs["ctx"]
    if item.check_id != os.environ["HANG_CHECK"] or not any(
        MARK in cell for cell in ctx.session.cells.values()
    ):
        return
    how = os.environ["HANG_HOW"]
    if how == "loop":
        while True:
            time.sleep(0.01)
    elif how == "read":
        # the worker answered the checks before this one, and has nothing more to say
        select.select([ctx.session._replies], [], [])
    elif how == "lock":
        threading.Event().wait()
