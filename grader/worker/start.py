"""The sandboxed process's entry point (``grader.sandbox.worker_command``): its JSON
configuration, the command line's one argument, makes it a worker (``main``) or a zygote
that forks warm workers (``zygote``, which builds on ``main``)."""

import json
import sys


def main():
    config = json.loads(sys.argv[1])
    if config.get("zygote"):
        from . import zygote  # a cold worker does without the zygote's imports

        return zygote.main(config)
    from . import main as worker

    return worker.main(config)


if __name__ == "__main__":
    main()
