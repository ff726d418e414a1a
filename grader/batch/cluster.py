"""Grade a batch on a Dask cluster (``grade.py --cluster``): Slurm, Kubernetes or a few machines.

Dask does the scheduling, retries and fault detection; this module only says what
one task is and what its result means. Three parts:

* ``GraderPlugin``: a worker plugin. On each Dask worker it checks the sandbox once
  (a worker without an acceptable one refuses to grade and leaves the cluster) and
  holds the per-worker state; its ``grade`` method is the single place where one
  submission is graded on a worker.
* ``grade_task``: what runs on a worker. A submission travels as bytes with their
  sha256 (no shared filesystem) and comes back as ``model.to_dict`` plain data.
* ``grade_on_cluster``: the coordinator. It submits one task per entry and hands
  each result to a callback as it arrives, so the output files are written exactly
  as in a local run.

The hidden-suite seed travels only inside a task's arguments, wrapped in ``Secret``
(Dask logs a failed task's arguments by ``repr``) and never in a task key.
"""

import contextlib
import dataclasses
import hashlib
import itertools
import logging
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from distributed import Client, KilledWorker, LocalCluster, Reschedule, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

import grader

from .. import devices, files, grading, model
from .. import sandbox as sandboxes
from .. import suite as suites
from ..zygotes import Zygote
from . import failures

PLUGIN_NAME = grader.NAME
TRANSFER_RETRIES = 2
MIN_IN_FLIGHT = 2
LOCAL_PREFIX = "local:"


class ClusterError(Exception):
    """The cluster cannot grade (unreachable, no worker accepts, the scheduler was lost)."""


class SandboxRefused(RuntimeError):
    """A Dask worker has no sandbox this batch accepts; it leaves the cluster."""


class TransferError(Exception):
    """The bytes a worker received do not match their sha256; Dask retries the task."""


class Secret:
    """A value that travels inside a task but never prints: Dask logs failed tasks by repr."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "Secret(hidden)"

    __str__ = __repr__


def accepted_levels(requested):
    """Sandbox levels a worker may grade with: bwrap, unless the TA names a weaker level."""
    floor = "bwrap" if requested == "auto" else requested
    return sandboxes.LEVELS[: sandboxes.LEVELS.index(floor) + 1]


def parse_local(address):
    """N for ``local:N`` (a LocalCluster of N worker processes), None for a scheduler address."""
    if not address.startswith(LOCAL_PREFIX):
        return None
    count = address[len(LOCAL_PREFIX) :]
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--cluster {address}: expected local:N with N >= 1 worker processes")
    return int(count)


class GraderPlugin(WorkerPlugin):
    """Per-Dask-worker state: the sandbox checked once, a host-wide slot (claimed at setup,
    see ``sandbox.process_slot``), one grade at a time."""

    def __init__(self, accepted):
        self.accepted = tuple(accepted)
        self.sandbox = None
        self.refusal = ""

    def setup(self, worker):
        sandbox = sandboxes.choose()
        if sandbox.level not in self.accepted:
            self.refusal = (
                f"worker {worker.address} refuses to grade: its best sandbox is "
                f"'{sandbox.level}' and this batch accepts only "
                f"{'/'.join(self.accepted)} (install bubblewrap on the worker, or "
                f"allow weaker isolation explicitly with --sandbox unshare|none)"
            )
            worker.loop.add_callback(worker.close, reason=f"{grader.NAME}: no acceptable sandbox")
            raise SandboxRefused(self.refusal)
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._zygote, self._zygote_key = None, None
        self._judge, self._judge_key = None, None
        sandboxes.process_slot()

    def teardown(self, worker):
        if self._judge is not None:
            self._judge.close()
        if self._zygote is not None:
            self._zygote.close()

    def state(self):
        """What the coordinator reports for this worker: its sandbox level, or why it refuses."""
        return self.refusal or f"ok: sandbox {self.sandbox.level}"

    def grade(self, path, options, student_id):
        """Grade one submission on this worker, one at a time, with its ``grading.Judge``
        for these options (the same for a whole batch: its checks are collected once)."""
        with self._lock:
            judge = self._judge_for(options)
            judge.spawn = self._warm_spawn(options)
            return judge.grade(path, student_id=student_id)

    def _judge_for(self, options):
        """The judge for ``options``, opened again when they change. A task's rubric comes
        as a file of its own: its text, not its path, tells rubrics apart."""
        rubric = Path(options.rubric_path).read_text() if options.rubric_path else None
        key = (dataclasses.replace(options, rubric_path=None), rubric)
        if self._judge_key != key:
            if self._judge is not None:
                self._judge.close()
            self._judge, self._judge_key = grading.Judge(options), key
        return self._judge

    def _warm_spawn(self, options):
        """The local pool's zygote, started once per Dask worker (and per suite and device):
        each submission gets a freshly forked, isolated worker in milliseconds. None where
        the zygote cannot isolate its children (not root): cold workers, same sandbox."""
        key = (options.lab, options.device)
        if self._zygote_key != key:
            if self._zygote is not None:
                self._zygote.close()
            worker = suites.load(options.lab).worker
            self._zygote, self._zygote_key = Zygote(self.sandbox, worker, options.device), key
            self._zygote.start()
            self._zygote.wait_ready()
        return self._zygote.spawn if self._zygote.isolation else None


def task_options(options):
    """``grading.Options`` as the plain data one task carries (the seed wrapped in ``Secret``)."""
    rubric = Path(options.rubric_path).read_text() if options.rubric_path else None
    return {
        "suite": options.suite,
        "seed": Secret(options.seed),
        "lab": options.lab,
        "device": options.device,
        "mode": options.mode,
        "rubric": rubric,
        "selected": list(options.selected),
        "backstop": options.backstop,
        "time_limit": options.time_limit,
    }


def grade_task(student_id, name, data, sha256, options):
    """Runs on a Dask worker: verify, write to a private folder, grade, return plain data."""
    if hashlib.sha256(data).hexdigest() != sha256:
        raise TransferError(f"{student_id}: the bytes received do not match their sha256")
    plugin = get_worker().plugins.get(PLUGIN_NAME)
    if plugin is None or plugin.sandbox is None:
        raise Reschedule()
    with tempfile.TemporaryDirectory(prefix=f"{grader.NAME}-cluster-") as folder:
        path = Path(folder, Path(name).name)
        path.write_bytes(data)
        rubric_path = None
        if options["rubric"] is not None:
            rubric_path = Path(folder, "rubric.toml")
            rubric_path.write_text(options["rubric"])
        grading_options = grading.Options(
            suite=options["suite"],
            seed=options["seed"].value,
            lab=options["lab"],
            device=devices.resolve(options["device"]),
            mode=options["mode"],
            sandbox=plugin.sandbox,
            rubric_path=rubric_path and str(rubric_path),
            selected=tuple(options["selected"]),
            backstop=options["backstop"],
            time_limit=options["time_limit"],
        )
        return model.to_dict(plugin.grade(path, grading_options, student_id))


def _worker_name(worker):
    """A dead worker as Dask names it: its ``--name``, else its address."""
    name = getattr(worker, "name", None)
    return str(name if name not in (None, "") else getattr(worker, "address", worker))


def grade_on_cluster(entries, options, address, on_result, sandbox="auto"):
    """Grade ``entries`` on the Dask cluster at ``address``; ``on_result(entry, result)`` each.

    ``sandbox`` is the TA's ``--sandbox``: workers need bubblewrap unless it names a
    weaker level. A worker that dies while grading is replaced by Dask's retry; a
    submission whose grading kills ``allowed-failures + 1`` workers (the scheduler's
    setting, 3 by default) comes back marked as such, and the batch goes on.
    """
    payload = task_options(options)
    batch = uuid.uuid4().hex[:8]
    with _client(address) as client:
        _install_plugin(client, accepted_levels(sandbox))
        for entry in entries:
            if not _sendable(entry.path):  # nothing to read, so nothing to run: graded here
                on_result(entry, grading.grade(entry.path, options, student_id=entry.student_id))
        waiting = (entry for entry in entries if _sendable(entry.path))
        futures, running = {}, as_completed()

        def refill():
            """Two tasks per worker thread in flight: every thread busy, and the scheduler
            holds the bytes of only those submissions. Workers may come and go."""
            wanted = max(MIN_IN_FLIGHT, 2 * sum(client.nthreads().values())) - len(futures)
            for entry in itertools.islice(waiting, max(wanted, 0)):
                future = _submit(client, entry, payload, batch)
                futures[future] = entry
                running.add(future)

        refill()
        for future in running:
            entry = futures.pop(future)
            on_result(entry, _result(future, entry, options))
            refill()


def _sendable(path):
    """A regular file (not a link) within the size limit: what ``files.read`` accepts."""
    return files.regular(path) and path.lstat().st_size <= files.MAX_BYTES


def _submit(client, entry, payload, batch):
    data = files.read(entry.path)
    return client.submit(
        grade_task,
        entry.student_id,
        entry.path.name,
        data,
        hashlib.sha256(data).hexdigest(),
        payload,
        key=f"{payload['lab']}-grade-{batch}-{entry.student_id}",
        pure=False,
        retries=TRANSFER_RETRIES,
    )


@contextlib.contextmanager
def _client(address):
    workers = parse_local(address)
    with contextlib.ExitStack() as stack:
        try:
            if workers is None:
                # waits Dask's distributed.comm.timeouts.connect (30 s unless configured)
                client = stack.enter_context(Client(address))
            else:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                )
                client = stack.enter_context(Client(cluster))
        except OSError as exc:
            raise ClusterError(
                f"--cluster {address}: cannot reach the Dask scheduler ({exc})"
            ) from None
        yield client


def _install_plugin(client, accepted):
    """Register the plugin on every worker, now and later; fail if every worker refuses."""
    problems = []
    try:
        client.register_plugin(GraderPlugin(accepted), name=PLUGIN_NAME)
    except SandboxRefused as exc:  # the first refusal; the others are in the states below
        problems.append(str(exc))
    except Exception as exc:  # a worker failed to load the plugin itself
        problems.append(
            f"a Dask worker cannot load the grader ({type(exc).__name__}: {exc}); "
            f"is it installed there (pip install '.[cluster]')?"
        )
    states = client.run(_worker_state, on_error="return")
    ready = [s for s in states.values() if isinstance(s, str) and s.startswith("ok")]
    problems += [s for s in states.values() if isinstance(s, str) and not s.startswith("ok")]
    problems = list(dict.fromkeys(problems))
    if states and not ready:
        raise ClusterError(
            "no Dask worker can grade: "
            + "; ".join(
                problems or ["every worker failed to start the grader (see the worker logs)"]
            )
        )
    for problem in problems:
        print(f"!! {problem}", file=sys.stderr)
    if not states:
        print("-- waiting for Dask workers to join the scheduler", file=sys.stderr)


def _worker_state(dask_worker):
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    return plugin.state() if plugin is not None else "the grader plugin did not load"


def _result(future, entry, options):
    """The ``SubmissionResult`` of a finished task; a failed task is marked as the
    grader's failure (graded again on resume), never lost."""
    if future.status == "cancelled":
        raise ClusterError(
            "the Dask scheduler was lost mid-batch; the results written so "
            "far are kept, grade the rest again"
        )
    if future.status == "finished":
        result = model.from_dict(future.result())
        result.path = str(entry.path)
        return result
    error = future.exception()
    if isinstance(error, KilledWorker):
        tries = error.allowed_failures + 1
        reason = (
            f"every Dask worker that graded it died while grading it "
            f"({tries} {'try' if tries == 1 else 'tries'}: out of memory, or killed; the "
            f"last: {_worker_name(error.last_worker)}), so it was not tried again"
        )
    else:
        reason = f"on a Dask worker ({type(error).__name__}: {error})"
    return failures.grader_failed(entry, options, reason)
