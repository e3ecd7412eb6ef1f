"""A content-addressed disk cache of rendered prompts (PCMU bytes).

The key is a SHA-256 over everything that decides the audio: pipeline and
engine versions, voice, rate, language, level and the final spoken text. Files
live under ``<dir>/<first two hex digits>/<key>.pcmu``; writes go to a temp
file and are renamed into place, so a reader never sees half a prompt and two
processes may share the directory. The size cap is enforced with LRU eviction:
a hit sets the file's mtime to now (atime is unreliable under ``relatime`` and
``noatime`` mounts), and eviction removes the oldest mtimes first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIX = ".pcmu"


def cache_key(**parts: object) -> str:
    """A stable hex digest over keyword parts (order-independent)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class PromptCache:
    """Blocking disk cache; call it from a thread (``asyncio.to_thread``).

    :param directory: where the files go (created if missing).
    :param max_bytes: total size cap; the least recently used files go first.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._total = sum(size for _path, size, _mtime in self._entries())
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def _path(self, key: str) -> Path:
        if len(key) < 3 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"bad cache key {key!r}")
        return self.directory / key[:2] / (key + SUFFIX)

    def _entries(self) -> list[tuple[Path, int, float]]:
        out = []
        for path in self.directory.glob("??/*" + SUFFIX):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            out.append((path, st.st_size, st.st_mtime))
        return out

    @property
    def total_bytes(self) -> int:
        return self._total

    def get(self, key: str) -> bytes | None:
        """The cached bytes, or ``None``; a hit refreshes the entry's LRU time."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        try:
            now = time.time()
            os.utime(path, (now, now))
        except FileNotFoundError:  # evicted meanwhile by another process
            pass
        self.hits += 1
        return data

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` atomically, then evict down to the cap."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            try:
                old = path.stat().st_size
            except FileNotFoundError:
                old = 0
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            self._total += len(data) - old
        if self._total > self.max_bytes:
            self.evict()

    def evict(self) -> int:
        """Remove least recently used entries until under the cap; returns count."""
        with self._lock:
            entries = sorted(self._entries(), key=lambda e: e[2])
            total = sum(size for _p, size, _m in entries)
            removed = 0
            for path, size, _mtime in entries:
                if total <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)
                total -= size
                removed += 1
            self._total = total
            self.evictions += removed
        if removed:
            logger.info("evicted %d prompt(s) from the TTS cache, %d bytes left", removed, total)
        return removed
