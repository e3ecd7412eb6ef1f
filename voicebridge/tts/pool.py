"""A process pool that owns the speech engines.

pyttsx3 keeps one global espeak engine per process and is not thread-safe, and
on the event loop thread it stalls the loop ~325 ms per prompt. So every
worker process builds its own engine once (in the pool initializer) and renders
one job at a time. Workers start with the ``forkserver`` method: no forked copy
of the parent's threads or event loop. A crashed or killed worker breaks a
``ProcessPoolExecutor`` for good; :class:`EnginePool` replaces it and retries
the job once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .engine import EngineSpec, Pcm, TtsEngine, build_engine
from .errors import TtsError

logger = logging.getLogger(__name__)

_ENGINE: TtsEngine | None = None
_INIT_ERROR: BaseException | None = None


def _init_worker(spec: EngineSpec) -> None:
    """Build this worker's engine; keep a failure to report with the first job.

    An exception escaping an initializer only breaks the pool with a vague
    ``BrokenProcessPool``; reported by the job it names the missing piece.
    """
    global _ENGINE, _INIT_ERROR
    try:
        _ENGINE = build_engine(spec)
    except Exception as exc:  # noqa: BLE001 - re-raised by _render in the parent
        _INIT_ERROR = exc


def _render(text: str, language: str) -> tuple[bytes, int]:
    if _ENGINE is None:
        raise _INIT_ERROR or TtsError("engine not initialised in this worker")
    pcm, rate = _ENGINE.synthesize(text, language)
    return pcm.astype("<i2").tobytes(), rate


def _pid() -> int:
    return os.getpid()


class EnginePool:
    """Runs :class:`~voicebridge.tts.engine.TtsEngine` jobs in worker processes.

    :param spec: how each worker builds its engine.
    :param workers: number of worker processes (each renders one job at a time).
    :param start_method: multiprocessing start method; ``forkserver`` by default.
    """

    def __init__(self, spec: EngineSpec, workers: int = 1, start_method: str = "forkserver") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.spec = spec
        self.workers = workers
        self._ctx = multiprocessing.get_context(start_method)
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._lock = asyncio.Lock()
        self._closed = False
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self._ctx, initializer=_init_worker, initargs=(self.spec,)
        )

    async def start(self) -> None:
        """Start the workers and render a probe in each, so start-up fails loudly."""
        async with self._lock:
            if self._executor is None:
                self._executor = self._new_executor()
        # One probe per worker; a language with its own engine gets a probe too.
        languages = [next(iter(self.spec.voices))]
        languages += [lang for lang in self.spec.overrides if lang not in languages]
        for language in languages:
            await asyncio.gather(*(self.synthesize("ok", language) for _ in range(self.workers)))

    async def _replace(self, generation: int) -> None:
        async with self._lock:
            if self._closed:
                raise TtsError("engine pool is closed")
            if generation != self._generation:
                return  # someone else already replaced it
            old = self._executor
            self._executor = self._new_executor()
            self._generation += 1
            self.restarts += 1
            logger.warning("TTS worker pool broken; replaced it (restart %d)", self.restarts)
        if old is not None:
            await asyncio.to_thread(old.shutdown, wait=True, cancel_futures=True)

    async def synthesize(self, text: str, language: str) -> tuple[Pcm, int]:
        """Render in a worker; a broken pool is replaced and the job retried once."""
        for attempt in (1, 2):
            if self._closed:
                raise TtsError("engine pool is closed")
            if self._executor is None:
                async with self._lock:
                    if self._executor is None:
                        self._executor = self._new_executor()
            executor, generation = self._executor, self._generation
            loop = asyncio.get_running_loop()
            try:
                data, rate = await loop.run_in_executor(executor, _render, text, language)
            except BrokenProcessPool as exc:
                if attempt == 2:
                    raise TtsError(f"TTS worker died twice rendering one prompt: {exc}") from exc
                await self._replace(generation)
                continue
            return np.frombuffer(data, dtype="<i2").astype(np.int16), rate
        raise AssertionError("unreachable")

    async def pids(self) -> list[int]:
        """Process ids of the current workers (for tests and diagnostics)."""
        executor = self._executor
        if executor is None:
            return []
        procs = getattr(executor, "_processes", None) or {}
        return sorted(procs)

    async def close(self) -> None:
        """Stop the workers; safe to call twice."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
