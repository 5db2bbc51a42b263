"""Run a function over chunks of work in worker processes, with a progress bar.

Processes, not threads: Pillow releases the GIL while decoding, but resizing, colour conversion and
the Python around them do not, so threads scale poorly. The ``spawn`` start method is used on every
platform: forking a parent that already runs PyTorch or tqdm threads can deadlock, and the workers
import only numpy and Pillow, so starting them costs a fraction of a second. Each worker dies with
this process (:func:`trainlab.data._workers.start_worker`: ``PR_SET_PDEATHSIG`` on Linux, a parent
watch elsewhere), so a killed build leaves no worker decoding on with the partial cache file open.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator, Sequence

from trainlab.data import _workers
from trainlab.utils.log import get_logger, progress

log = get_logger("trainlab.data")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_workers(workers: int, n_chunks: int) -> int:
    """``workers <= 0`` means one per usable core; never more than there are chunks."""
    n = usable_cores() if workers is None or workers <= 0 else int(workers)
    return max(1, min(n, n_chunks))


def chunked(n: int, size: int) -> list[range]:
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def run_chunks(
    fn: Callable, chunks: Sequence, *, workers: int, initializer: Callable | None = None, initargs: tuple = (),
    total: int, desc: str, weight: Callable = len,
) -> Iterator:
    """Yield ``fn(chunk)`` for every chunk (in completion order), advancing a bar by ``weight(chunk)``.

    With one worker everything runs in this process (no start-up cost, easy to debug). At most
    ``2 × workers`` chunks are in flight, so a caller that stops early wastes little work.
    """
    n = resolve_workers(workers, len(chunks))
    if n > 1 and not _spawn_can_start():
        log.info("this program's main script cannot be re-imported by worker processes (run from stdin?); decoding in one process")
        n = 1
    with progress(total=total, desc=desc, unit="img", smoothing=0.1) as bar:
        if n == 1:
            if initializer is not None:
                initializer(*initargs)
            for chunk in chunks:
                yield fn(chunk)
                bar.update(weight(chunk))
            return
        ctx = multiprocessing.get_context("spawn")
        todo: Iterable = iter(chunks)
        running: dict = {}
        try:
            with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_workers.start_worker,
                                     initargs=(os.getpid(), initializer, initargs)) as pool:
                try:
                    for chunk in _take(todo, 2 * n):
                        running[pool.submit(fn, chunk)] = chunk
                    while running:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for fut in done:
                            result = fut.result()  # BrokenProcessPool if a worker died
                            chunk = running.pop(fut)
                            yield result
                            bar.update(weight(chunk))
                            for nxt in _take(todo, 1):
                                running[pool.submit(fn, nxt)] = nxt
                finally:
                    for fut in running:
                        fut.cancel()
        except BrokenProcessPool as exc:
            # A worker died (killed for memory, or it could not start: e.g. a script run from stdin, which
            # 'spawn' cannot re-import). The chunks not yet returned are done here instead of failing.
            log.warning("a worker process died (%s); finishing the remaining work in this process", exc)
            if initializer is not None:
                initializer(*initargs)
            for chunk in [*running.values(), *todo]:
                yield fn(chunk)
                bar.update(weight(chunk))


def _spawn_can_start() -> bool:
    """'spawn' re-imports the main script in each worker; a main read from stdin cannot be re-imported."""
    import sys

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def _take(it, k: int) -> list:
    out = []
    for _ in range(k):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out
