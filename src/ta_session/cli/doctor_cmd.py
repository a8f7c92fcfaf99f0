"""``ta doctor``: what this machine supports."""

from __future__ import annotations

import argparse

from ta_session.cli.context import open_project
from ta_session.cli.output import print_json, table


def cmd_doctor(args: argparse.Namespace) -> int:
    from ta_session.service.doctor import examine

    findings = examine(open_project(args))
    if args.json:
        print_json([f.to_json() for f in findings])
        return 0
    rows = [[f.name, "ok" if f.ok else "missing", f.detail] for f in findings]
    print(table(["CHECK", "RESULT", "DETAIL"], rows))
    return 0
