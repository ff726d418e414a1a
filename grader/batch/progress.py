"""Progress of a batch: count, rate and ETA; a redrawn bar on a terminal, plain lines otherwise."""

import sys
import time

from ..report.safe import terminal

BAR_WIDTH = 30


class Progress:
    def __init__(self, total, resumed=0, stream=None, quiet=False):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.total = total
        self.done = resumed
        self.graded = 0
        self.quiet = quiet
        self.started = time.monotonic()
        self._bar_shown = False
        self._waiting = ""

    def __enter__(self):
        self._draw()
        return self

    def __exit__(self, *exc):
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()

    def note(self, text):
        self._line(text)

    def add(self, text):
        """One more submission graded; ``text`` is its one-line summary."""
        self.done += 1
        self.graded += 1
        if self.quiet and not self.tty:
            return
        if self.quiet:
            self._draw()
        elif self.tty:
            self._line(text)
        else:
            self._line(
                f"[{self.done:>{len(str(self.total))}}/{self.total}] {text}  "
                f"({self.figures()}){self._waiting}"
            )

    def waiting(self, in_flight):
        """``in_flight``: (entry, since) pairs, oldest first; the bar names the oldest."""
        if not in_flight:
            self._waiting = ""
        else:
            entry, since = in_flight[0]
            others = f" and {len(in_flight) - 1} more" if len(in_flight) > 1 else ""
            self._waiting = (
                f"  waiting on {terminal(entry.student_id)} "
                f"({time.monotonic() - since:.0f} s){others}"
            )
        if self.tty:
            self._draw()

    def figures(self):
        """Rate and ETA from the submissions graded in this run (resumed ones cost nothing)."""
        elapsed = time.monotonic() - self.started
        if not self.graded or elapsed <= 0:
            return "rate -, ETA -"
        rate = self.graded / elapsed
        return f"{rate:.2f}/s, ETA {_duration((self.total - self.done) / rate)}"

    def _line(self, text):
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self._draw()

    def _draw(self):
        if not self.tty:
            self.stream.flush()
            return
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(
            f"\r\x1b[K[{bar}] {self.done}/{self.total}  {self.figures()}{self._waiting}"
        )
        self.stream.flush()
        self._bar_shown = True


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
