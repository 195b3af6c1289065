"""One progress printer for the estimators' iteration loops."""

import sys


class Progress:
    """Progress of a loop over ``total`` iterations, on stderr.

    ``verbose=0`` prints nothing. ``verbose=1`` redraws one bar in place when stderr is a
    terminal and prints one line per iteration otherwise (a log file gets no ``\\r``);
    ``verbose > 1`` always prints one line per iteration.
    """

    def __init__(self, name, total, verbose, width=24, stream=None):
        self.name, self.total, self.verbose, self.width = name, total, verbose, width
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.in_place = verbose == 1 and isatty is not None and isatty()
        self.count = 0

    def update(self, message):
        """Count an iteration and show ``message`` (its diagnostics)."""
        self.count += 1
        if not self.verbose:
            return
        if self.in_place:
            done = int(self.width * self.count / self.total)
            bar = "#" * done + "." * (self.width - done)
            print(f"\r{self.name} [{bar}] {self.count}/{self.total} {message}", end="",
                  file=self.stream, flush=True)
        else:
            print(f"[{self.name}] iter {self.count}/{self.total} {message}", file=self.stream)

    def close(self):
        if self.in_place and self.count:
            print(file=self.stream)
