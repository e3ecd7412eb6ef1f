"""Onboarding documents (licence, letters, ID images): checked, stored by content hash.

Files live under ``<data_dir>/documents/<sha256>``; the same bytes uploaded twice
are stored once. A ``documents`` row ties a file to the tenant that uploaded it,
and every read goes through the tenant id, so one tenant never sees another's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import time
from pathlib import Path

from voicebridge.domain import iso, utcnow
from voicebridge.errors import FieldError, Problem, invalid
from voicebridge.store.sqlite import Row, SqliteStore, Tx
from voicebridge.store.tenants import audit

__all__ = ["MAX_BYTES", "CONTENT_TYPES", "KINDS", "check_content", "save_document", "get_document",
           "list_documents", "document_path", "owned_ids", "delete_tenant_documents", "remove_unreferenced_files"]

MAX_BYTES = 5 * 1024 * 1024
MAX_FILENAME_CHARS = 255
CONTENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
"""Accepted types and the magic bytes their content must start with."""
KINDS = ("licence", "commitment_letter", "application_letter", "id_image", "other")


def too_large() -> Problem:
    return Problem(413, "Document too large", f"a document must be at most {MAX_BYTES} bytes",
                   [FieldError("file", f"must be at most {MAX_BYTES} bytes", "too_large")],
                   type="https://voicebridge.dev/problems/too-large")


def check_content(content: bytes, content_type: str) -> str:
    """The normalised content type, or a Problem: 415 for a type we do not take,
    413 when too large, 422 when empty or when the bytes are not of that type."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "image/jpg":
        ctype = "image/jpeg"
    if ctype not in CONTENT_TYPES:
        raise Problem(415, "Unsupported document type", f"send one of {', '.join(CONTENT_TYPES)}",
                      [FieldError("Content-Type", f"must be one of {', '.join(CONTENT_TYPES)}", "format")],
                      type="https://voicebridge.dev/problems/unsupported-type")
    if len(content) > MAX_BYTES:
        raise too_large()
    if not content:
        raise invalid([FieldError("file", "is empty", "required")])
    if not content.startswith(CONTENT_TYPES[ctype]):
        raise invalid([FieldError("file", f"is not a {ctype} file (its first bytes do not match)", "content")])
    return ctype


def document_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / "documents" / sha256


def _write(path: Path, content: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


async def save_document(
    store: SqliteStore, data_dir: Path, tenant_id: str, content: bytes, content_type: str, *,
    kind: str = "other", filename: str = "", actor: str,
) -> Row:
    """Check and keep one upload; returns its ``documents`` row."""
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("kind", f"must be one of {', '.join(KINDS)}", "enum"))
    filename = os.path.basename(filename.replace("\\", "/")).strip()
    if len(filename) > MAX_FILENAME_CHARS:
        errors.append(FieldError("filename", f"must be at most {MAX_FILENAME_CHARS} characters", "too_long"))
    ctype = check_content(content, content_type)
    if errors:
        raise invalid(errors)
    digest = hashlib.sha256(content).hexdigest()
    await asyncio.to_thread(_write, document_path(data_dir, digest), content)
    doc_id = f"doc_{secrets.token_hex(10)}"
    async with store.transaction() as tx:
        await tx.execute(
            "INSERT INTO documents(id, tenant_id, kind, filename, content_type, size, sha256, uploaded_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, tenant_id, kind, filename, ctype, len(content), digest, actor, iso(utcnow())),
        )
        await audit(tx, actor, tenant_id, "document.upload",
                    {"id": doc_id, "kind": kind, "sha256": digest, "size": len(content), "content_type": ctype})
        row = await tx.fetchone("SELECT * FROM documents WHERE id = ?", (doc_id,))
    assert row is not None
    # a release may have removed the same bytes between our write and our commit: write them again
    await asyncio.to_thread(_write, document_path(data_dir, digest), content)
    return row


async def get_document(store: SqliteStore, tenant_id: str, doc_id: str) -> Row | None:
    """The tenant's own document, or ``None`` (also for another tenant's id)."""
    return await store.fetchone("SELECT * FROM documents WHERE id = ? AND tenant_id = ?", (doc_id, tenant_id))


async def list_documents(store: SqliteStore, tenant_id: str) -> list[Row]:
    return await store.fetchall("SELECT * FROM documents WHERE tenant_id = ? ORDER BY created_at, id", (tenant_id,))


async def owned_ids(store: SqliteStore, tenant_id: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    rows = await store.fetchall(f"SELECT id FROM documents WHERE tenant_id = ? AND id IN ({marks})", (tenant_id, *ids))
    return {r["id"] for r in rows}


def document_view(row: Row) -> dict[str, object]:
    return {k: row[k] for k in ("id", "kind", "filename", "content_type", "size", "sha256", "created_at")}


# --- deletion on release --------------------------------------------------------------------------------------------

log = logging.getLogger(__name__)
_SHA256 = re.compile(r"[0-9a-f]{64}")
SWEEP_MIN_AGE = 3600.0
"""A file nobody references is swept only when older than this: an upload writes
its file just before its row commits."""


async def delete_tenant_documents(tx: Tx, tenant_id: str, *, actor: str, reason: str = "released") -> list[str]:
    """Delete every ``documents`` row of the tenant inside ``tx`` (one audit row,
    ``document.delete``) and return the content hashes they named.

    The files are not touched here (the transaction may still roll back): after
    the commit, :func:`remove_unreferenced_files` deletes each file that no
    other tenant's row still references.
    """
    rows = await tx.fetchall(
        "SELECT id, sha256 FROM documents WHERE tenant_id = ? ORDER BY created_at, id", (tenant_id,))
    if not rows:
        return []
    await tx.execute("DELETE FROM documents WHERE tenant_id = ?", (tenant_id,))
    hashes = sorted({r["sha256"] for r in rows})
    await audit(tx, actor, tenant_id, "document.delete",
                {"reason": reason, "ids": [r["id"] for r in rows], "sha256": hashes})
    return hashes


async def remove_unreferenced_files(
    store: SqliteStore, data_dir: Path, hashes: list[str] | tuple[str, ...] | None = None, *,
    min_age: float = SWEEP_MIN_AGE, now: float | None = None,
) -> list[str]:
    """Delete document files that no ``documents`` row references; returns the hashes removed.

    :param hashes: the candidates (from :func:`delete_tenant_documents`, after its
        commit); removed whatever their age. ``None``: sweep every file under
        ``<data_dir>/documents`` that is older than ``min_age`` seconds (this
        catches files left when a process stopped between commit and unlink).
    """
    folder = data_dir / "documents"
    if hashes is None:
        cutoff = (time.time() if now is None else now) - min_age

        def listing() -> list[str]:
            if not folder.is_dir():
                return []
            out = []
            for entry in os.scandir(folder):
                if _SHA256.fullmatch(entry.name) and entry.is_file() and entry.stat().st_mtime <= cutoff:
                    out.append(entry.name)
            return out

        candidates = sorted(await asyncio.to_thread(listing))
    else:
        candidates = sorted({h for h in hashes if _SHA256.fullmatch(h)})
    removed: list[str] = []
    for digest in candidates:
        if await store.fetchone("SELECT 1 FROM documents WHERE sha256 = ? LIMIT 1", (digest,)):
            continue  # another tenant uploaded the same bytes: keep the one copy
        try:
            await asyncio.to_thread(os.unlink, document_path(data_dir, digest))
        except FileNotFoundError:
            continue
        removed.append(digest)
    if removed:
        log.info("removed %d document file(s) no tenant references", len(removed))
    return removed
