"""Start a thread when the code is loaded: it runs beside every later operation of the
grader's, free to watch and change what they do (here it only sleeps)."""
import threading
import time


def _watch():
    while True:
        time.sleep(1)


threading.Thread(target=_watch, daemon=True).start()
