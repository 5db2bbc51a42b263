"""The one mechanism every file that crosses a stage boundary is written and read through.

An artifact is a frozen pydantic model with a ``kind`` (what the file is), a ``schema_version`` and a file name.
``write(folder)`` stores it atomically as JSON with the kind and version in the file; ``read(folder_or_file)``
checks both, then validates every field. A foreign file, a file of another kind, a file written by a newer
trainlab, or a field of the wrong type gives one :class:`ArtifactError` naming the file and the field, never a
``KeyError`` far from the cause. Each artifact has exactly one producer (the stage that owns it) and every
consumer reads it through ``read()``.

Adding a field with a default keeps old files readable. Removing or renaming a field, or changing its meaning,
bumps ``schema_version``; ``migrate()`` on the class turns an older payload into the current one (or says that
the file must be made again, and by which command).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from trainlab.errors import TrainlabError
from trainlab.utils.io import atomic_write_text


class ArtifactError(TrainlabError):
    """An artifact file that cannot be read: missing, foreign, of another kind or version, or with a bad field."""


class Artifact(BaseModel):
    """Base class: subclasses set ``KIND``, ``SCHEMA_VERSION``, ``FILENAME`` and ``MADE_BY`` (the command)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False, protected_namespaces=())

    KIND: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = ""
    MADE_BY: ClassVar[str] = ""  # the command that writes it, named in "missing" messages

    # ---- paths ----------------------------------------------------------------------------------
    @classmethod
    def path_in(cls, where: str | Path) -> Path:
        """``where`` itself when it is a file (or names one), else ``where / FILENAME``."""
        where = Path(where)
        if where.is_dir() or (not where.suffix and not where.exists()):
            return where / cls.FILENAME
        return where

    @classmethod
    def exists_in(cls, where: str | Path) -> bool:
        return cls.path_in(where).is_file()

    # ---- writing --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"kind": self.KIND, "schema_version": self.SCHEMA_VERSION, **self.model_dump(mode="json")}

    def write(self, where: str | Path) -> Path:
        """Write atomically to ``where`` (a folder, or the file itself); returns the file."""
        path = self.path_in(where)
        atomic_write_text(path, json.dumps(self.to_json(), indent=2, allow_nan=True) + "\n")
        return path

    # ---- reading --------------------------------------------------------------------------------
    @classmethod
    def read(cls, where: str | Path) -> Self:
        path = cls.path_in(where)
        if not path.is_file():
            made = f"; {cls.MADE_BY} writes it" if cls.MADE_BY else ""
            raise ArtifactError(f"{path}: no such file{made}")
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ArtifactError(f"{path}: not a text file, so not a trainlab {cls.KIND} file") from None
        except ValueError as exc:
            raise ArtifactError(f"{path}: not valid JSON ({exc}); it may be truncated: make it again") from None
        return cls.from_json(payload, source=path)

    @classmethod
    def from_json(cls, payload: Any, *, source: str | Path = "<memory>") -> Self:
        if not isinstance(payload, dict):
            raise ArtifactError(f"{source}: expected a JSON object (a trainlab {cls.KIND} file), found {type(payload).__name__}")
        payload = dict(payload)
        kind = payload.pop("kind", None)
        version = payload.pop("schema_version", None)
        if kind is None and version is None:
            payload = cls.migrate(payload, 0, source)  # written before artifacts carried their kind
        else:
            if kind != cls.KIND:
                raise ArtifactError(f"{source}: field 'kind' is {kind!r}, expected {cls.KIND!r}: this is not a {cls.KIND} file")
            if not isinstance(version, int) or version > cls.SCHEMA_VERSION:
                raise ArtifactError(
                    f"{source}: field 'schema_version' is {version!r}; this trainlab reads {cls.KIND} up to version "
                    f"{cls.SCHEMA_VERSION}: upgrade trainlab, or make the file again with this one"
                )
            if version < cls.SCHEMA_VERSION:
                payload = cls.migrate(payload, version, source)
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise ArtifactError(f"{source}: {_first_problem(exc)}") from None

    @classmethod
    def migrate(cls, payload: dict, version: int, source: str | Path) -> dict:
        """Turn a payload of an older ``version`` into the current schema (override where a bump needs it)."""
        if version == 0:
            return payload  # unversioned: validate as is; a field that no longer fits is named by the validator
        raise ArtifactError(f"{source}: {cls.KIND} schema version {version} is no longer read; make the file again"
                            + (f" with {cls.MADE_BY}" if cls.MADE_BY else ""))


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    err = errors[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    got = err.get("input")
    shown = "" if err["type"] == "missing" else f"; found {got!r}"[:120]
    return f"field '{field}': {err['msg']}{shown}{more}"
