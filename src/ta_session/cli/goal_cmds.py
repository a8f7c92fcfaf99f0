"""``ta goal list|show``."""

from __future__ import annotations

import argparse
import sys

from ta_session.cli.context import open_project, report_bad_files, resolve_goal
from ta_session.cli.output import one_line, print_json, table
from ta_session.model.display import visible


def cmd_list(args: argparse.Namespace) -> int:
    project = open_project(args)
    goals = project.goals.list()
    report_bad_files(project.goals.bad_files)
    if args.json:
        print_json([g.to_dict() for g in goals])
        return 0
    if not goals:
        print("No goals found.")
        return 0
    rows = [
        [str(g.goal_id), one_line(visible(g.title), 48), visible(g.agent_id), g.state.value,
         g.created_at.isoformat()]
        for g in goals
    ]  # fmt: skip
    print(table(["GOAL", "TITLE", "AGENT", "STATE", "CREATED"], rows))
    print(f"{len(goals)} goal(s).")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    project = open_project(args)
    goal = project.goals.load(resolve_goal(project, args.goal))
    if args.json:
        print_json(goal.to_dict())
        return 0
    sessions = [s for s in project.sessions.summaries() if s.goal_id == goal.goal_id]
    lines = [
        f"Goal:       {goal.goal_id}",
        # A goal's texts are anyone's: shown, never acted on by the terminal.
        f"Title:      {visible(goal.title)}",
        f"Objective:  {visible(goal.objective) or '-'}",
        f"Agent:      {visible(goal.agent_id)}",
        f"State:      {goal.state.value}",
        f"Source:     {goal.source_dir or '-'}",
        f"Workspace:  {goal.workspace_path or '-'}",
        f"Created:    {goal.created_at.isoformat()}",
        f"Updated:    {goal.updated_at.isoformat()}",
        f"Sessions ({len(sessions)}):",
        *(f"  {s.session_id}  {s.state.value}" for s in sessions),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
