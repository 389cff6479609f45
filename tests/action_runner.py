"""The composite action's steps (action.yml) run as the Actions runner runs them, for the tests of the action and
of the nightly workflow that uses it.

`${{ … }}` values are filled from a small context (inputs, github.*, the steps' outputs) and each step's `if` is
evaluated the same way; a `run` step is `bash --noprofile --norc -eo pipefail` with the step's env and its own
GITHUB_OUTPUT. `uses:` steps (actions/setup-python) are not run, nor the install step: this checkout is already
installed; the install step is checked to install the action's own checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


class Runner:
    """Runs the action's steps with a context, like the Actions runner (bash -e, GITHUB_OUTPUT per step).

    `base_env` is the environment every step starts from (PATH and HOME when not given)."""

    def __init__(self, cwd: Path, context: dict[str, str], base_env: Mapping[str, str] | None = None) -> None:
        self.cwd = cwd
        self.context = context
        self.base_env = dict(base_env or {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
                                          "HOME": str(cwd.parent)})  # fmt: skip
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}
        self.last: subprocess.CompletedProcess[str] | None = None
        self.last_error = ""

    def value(self, name: str) -> str:
        m = re.fullmatch(r"steps\.([\w-]+)\.(outputs\.([\w-]+)|outcome)", name)
        if m:
            step = m.group(1)
            return self.outputs.get(step, {}).get(m.group(3), "") if m.group(3) else self.outcomes.get(step, "")
        if name.startswith("inputs."):
            key = name.removeprefix("inputs.")
            return self.context.get(name, str(ACTION["inputs"][key].get("default", "")))
        return self.context[name]

    def fill(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        expr = _EXPR.sub(lambda m: m.group(1), text).replace("!cancelled()", "True")
        expr = re.sub(r"[a-z]+(?:\.[\w-]+)+", lambda m: repr(self.value(m.group(0))), expr)
        expr = expr.replace("&&", " and ").replace("||", " or ").replace("'", '"')
        return bool(eval(expr, {"__builtins__": {}}, {"True": True}))  # test-only, on the action's own text

    def run(self, only: str | None = None) -> int:
        """Every step in order (or only the one named), as far as the first failing step; its exit code, or 0."""
        for step in ACTION["runs"]["steps"]:
            if "uses" in step or (only is not None and step.get("name") != only):
                continue
            if "if" in step and not self.condition(step["if"]):
                continue
            if step["name"] == "Install Hub Monitor":
                assert self.fill(step["env"]["ACTION_PATH"]) == str(ROOT)
                continue
            output = self.cwd.parent / f"output-{len(self.outcomes)}"
            output.write_text("")
            env = {**self.base_env, "GITHUB_OUTPUT": str(output), "GITHUB_REF_NAME": "main",
                   **{k: self.fill(v) for k, v in step.get("env", {}).items()}}  # fmt: skip
            assert step["shell"] == "bash"
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                  cwd=self.cwd, env=env, capture_output=True, text=True, timeout=120,
                                  check=False)  # fmt: skip
            self.last = proc
            sid = step.get("id", step["name"])
            self.outcomes[sid] = "success" if proc.returncode == 0 else "failure"
            self.outputs[sid] = dict(ln.split("=", 1) for ln in output.read_text().splitlines() if "=" in ln)
            if proc.returncode != 0:
                self.last_error = proc.stdout + proc.stderr
                return proc.returncode
        return 0


def step(name: str) -> dict[str, Any]:
    """The action's step of that name."""
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)
