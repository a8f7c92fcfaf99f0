"""Draft records in ``.ta/drafts/<draft_id>.json`` (SPEC §2.3), each with a seal.

Every time we write a draft record (built, decided, superseded, applied) we also write its
*seal*, the SHA-256 of the record's exact bytes, to ``.ta/state/seals/<draft_id>.sha256``,
outside the draft file. ``load_sealed`` (used by apply) refuses a draft whose bytes are not the
ones we last wrote: an approved draft edited by hand, or by an agent running without a sandbox,
to point an approved artifact at other content or another path, is never applied.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from uuid import UUID

from ta_session.model import RecordFormatError, parse_uuid
from ta_session.model.draft import Draft
from ta_session.store.atomic import atomic_write
from ta_session.store.errors import CorruptRecordError, NotFoundError, StoreError
from ta_session.store.layout import private_dirs
from ta_session.store.locks import exclusive_lock
from ta_session.store.records import RecordFolder


class TamperedDraftError(StoreError):
    """The draft file is not what ta last wrote (or its seal is missing)."""


def seal_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class DraftStore(RecordFolder[Draft]):
    def __init__(self, drafts_dir: Path, locks_dir: Path, seals_dir: Path | None = None):
        super().__init__(drafts_dir, "draft", Draft.from_json, lambda d: d.draft_id, locks_dir)
        # ``.ta/state/seals`` when the locks are in ``.ta/state/locks`` (how Project builds us).
        self.seals_dir = seals_dir if seals_dir is not None else Path(locks_dir).parent / "seals"

    def list(self, goal_id: UUID | None = None) -> list[Draft]:
        """Newest first; only the goal's drafts when ``goal_id`` is given."""
        drafts = [d for d in self if goal_id is None or d.goal_id == goal_id]
        return sorted(drafts, key=lambda d: d.created_at, reverse=True)

    def seal_path(self, draft_id: UUID | str) -> Path:
        return self.seals_dir / f"{parse_uuid(draft_id)}.sha256"

    def save(self, record: Draft) -> None:
        data = record.to_json().encode("utf-8")
        path = self.path_for(record.draft_id)
        try:
            private_dirs(self.folder)
            private_dirs(self.seals_dir)
            # The seal first: a crash in between leaves a seal that matches no file, so the
            # draft is refused (never a changed file that a stale seal would let through).
            atomic_write(self.seal_path(record.draft_id), seal_of(data).encode())
            atomic_write(path, data)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def load_sealed(self, draft_id: UUID | str) -> Draft:
        """The draft, only if its file is byte for byte what we last wrote.

        Read under the record's lock, so a decision being written is never mistaken for
        tampering. Raises ``TamperedDraftError`` otherwise.
        """
        rid = parse_uuid(draft_id)
        path = self.path_for(rid)
        private_dirs(self._locks_dir)
        with exclusive_lock(self._locks_dir / f"{self.kind}-{rid}.lock"):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise NotFoundError(f"No draft {rid}.") from None
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
            try:
                expected = self.seal_path(rid).read_text().strip()
            except FileNotFoundError:
                raise TamperedDraftError(
                    f"draft {str(rid)[:8]} has no seal ({self.seal_path(rid)}), so it cannot be"
                    " shown to be the draft that was reviewed; rebuild it with 'ta draft build'"
                ) from None
            except OSError as exc:
                raise StoreError(f"cannot read {self.seal_path(rid)}: {exc.strerror}") from exc
        if seal_of(data) != expected:
            raise TamperedDraftError(
                f"draft {str(rid)[:8]} was changed outside ta after it was last written"
                f" ({path} no longer matches its seal); it is not applied. Rebuild it with"
                " 'ta draft build' and review it again"
            )
        try:
            return Draft.from_json(data)
        except RecordFormatError as exc:
            raise CorruptRecordError(f"{path}: {exc}") from None
