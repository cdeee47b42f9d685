"""Where the chunks of simulated trials run: this process, or a Dask cluster.

A task is a chunk of replicate trials of one scenario, with its own
``numpy.random.SeedSequence`` (see :mod:`alsmeta.simulate.power`); what a task returns
depends only on the task, so every backend and every number of workers gives the same
numbers. Dask is imported only when the Dask backend is used.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from alsmeta.errors import InputError, Problem

__all__ = ["BACKENDS", "run_tasks", "tune_allocator"]

BACKENDS = ("local", "dask")

# glibc malloc settings for the simulation's many short-lived arrays of a few MB: keep
# freed memory on the heap instead of returning it to the system after every array.
# Measured on one chunk of 250 trials x 200 patients: 0.40 s with glibc's defaults, 1.0 s
# with the MALLOC_TRIM_THRESHOLD_=65536 that Dask sets for its workers, 0.23 s with these.
_MALLOC_ENV = {"MALLOC_TRIM_THRESHOLD_": 268_435_456, "MALLOC_MMAP_THRESHOLD_": 33_554_432}


def tune_allocator() -> bool:
    """Set this process's glibc malloc thresholds for array-heavy simulation.

    A process-wide setting, so the library does not call it in the caller's process: the
    ``alsmeta simulate`` command does, and the Dask backend runs it on every worker it
    uses (workers are compute processes). Returns False where it does not apply (not
    glibc).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        trim = libc.mallopt(-1, _MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"])  # M_TRIM_THRESHOLD
        mmap = libc.mallopt(-3, _MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"])  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False
    return bool(trim and mmap)


def _progress(total: int, *, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="trials", file=sys.stderr,
                leave=False, dynamic_ncols=True)  # fmt: skip


def _run_local(
    fn: Callable[[Any], Any], tasks: Sequence[Any], sizes: Sequence[int], bar: Any
) -> list[Any]:
    results = []
    for task, size in zip(tasks, sizes, strict=True):
        results.append(fn(task))
        bar.update(size)
    return results


@contextlib.contextmanager
def _dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ModuleNotFoundError(
            "the dask backend needs dask.distributed: pip install 'alsmeta[dask]'",
            name="distributed",
        ) from exc
    for name in ("distributed", "distributed.worker", "distributed.scheduler", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(
                Problem(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}")
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers or 2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _run_dask(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    sizes: Sequence[int],
    bar: Any,
    *,
    workers: int | None,
    scheduler: str | None,
) -> list[Any]:
    with _dask_client(workers, scheduler) as client:
        from distributed import as_completed

        client.run(tune_allocator)
        futures = client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        for future in as_completed(futures):
            i = index[future.key]
            results[i] = future.result()
            bar.update(sizes[i])
    return results


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    sizes: Sequence[int],
    *,
    backend: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    desc: str = "simulating",
) -> list[Any]:
    """Run ``fn`` on every task; return the results in task order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to Dask workers).
    tasks : sequence
        Its arguments, one per task.
    sizes : sequence of int
        Replicate trials in each task (for the progress bar).
    backend : {"local", "dask"}
        ``"local"``: one after the other in this process. ``"dask"``: on a Dask cluster,
        ``scheduler`` if given (an address such as ``tcp://10.0.0.5:8786``), else a
        ``distributed.LocalCluster`` of ``workers`` processes (default 2) started here
        and closed afterwards.
    workers, scheduler : optional
        See ``backend``.
    progress : bool
        Show a progress bar on stderr.
    """
    problems = []
    if backend not in BACKENDS:
        problems.append(Problem(f"backend={backend!r} is not one of 'local', 'dask'"))
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        problems.append(Problem(f"workers={workers!r} must be a positive integer"))
    if backend == "local" and (workers not in (None, 1) or scheduler is not None):
        problems.append(Problem("workers and scheduler apply to backend='dask'"))
    if scheduler is not None and workers is not None:
        problems.append(Problem("give either scheduler (an existing cluster) or workers"))
    if problems:
        raise InputError(problems)
    with _progress(sum(sizes), enabled=progress, desc=desc) as bar:
        if backend == "local":
            return _run_local(fn, tasks, sizes, bar)
        return _run_dask(fn, tasks, sizes, bar, workers=workers, scheduler=scheduler)
