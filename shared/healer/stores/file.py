"""Blob store on a local directory: the embedded default."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from healer.errors import InvalidInput
from healer.stores.blob import BlobStore
from healer.stores.exceptions import BlobNotFound, StoreUnavailable


class FileBlobStore(BlobStore):
    """Each key is a file under ``root``; writes go to a temp file then rename (atomic)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if (
            not key
            or key.startswith("/")
            or any(part in ("", ".", "..") for part in key.split("/"))
        ):
            raise InvalidInput(
                f"blob key {key!r} must be a relative path without '.' or '..' parts"
            )
        return self.root / key

    def put_stream(
        self, key: str, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> int:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        except OSError as exc:
            raise StoreUnavailable(f"blob directory {self.root} is not writable: {exc}") from exc
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise StoreUnavailable(f"cannot read blob {key!r}: {exc}") from exc
        return self._chunks(handle, chunk_size)

    @staticmethod
    def _chunks(handle: object, chunk_size: int) -> Iterator[bytes]:
        import io

        assert isinstance(handle, io.BufferedReader)
        with handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = (
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith(".part-")
        )
        return sorted(k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
