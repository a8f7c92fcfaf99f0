"""Listing rows: the JSON text a listing prints (built from the summary index's encoded head)
is exactly the encoding of the row's JSON object, for every kind of session file."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

from ta_session.service.lifecycle import SessionService
from ta_session.store import Project


def test_listing_text_is_the_encoded_row(reference_project: Path) -> None:
    project = Project(reference_project)
    service = SessionService(project, "test:views")
    drafts = service.drafts()
    # One session with drafts: one present (its status is read), one missing.
    present, missing = uuid4(), uuid4()
    (project.layout.drafts_dir).mkdir(parents=True, exist_ok=True)
    (project.layout.drafts_dir / f"{present}.json").write_text('{"status": "approved"}')
    first = project.sessions.summaries()[0].session_id
    project.sessions.update(first, lambda s: (s.add_draft(present), s.add_draft(missing)))
    project.sessions.flush()
    rows = service.rows(include_finished=True)
    assert len(rows) >= 6
    encode = json.JSONEncoder(ensure_ascii=False).encode
    for row in rows:
        assert row.summary.json_head is not None  # it came from the index
        assert row.to_json_text(drafts) == encode(row.to_json(drafts))
    with_drafts = next(r for r in rows if r.summary.session_id == first).to_json(drafts)
    assert with_drafts["drafts"] == [
        {"draft_id": str(present), "status": "approved"},
        {"draft_id": str(missing), "status": "missing"},
    ]
    # The full record (``show``) has the same fields plus its messages.
    full = service.row(first).to_json(drafts)
    assert {k: v for k, v in full.items() if k != "messages"} == with_drafts
