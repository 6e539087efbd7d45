"""The code a cluster needs: ``monitor_lib.zip`` (for ``--py-files``) and the ``jobs/*.py`` entry scripts.

The zip is deterministic — entries sorted, timestamps fixed at 1980-01-01, permissions 0644, no
``__pycache__`` — so the same code gives the same bytes and the same digest, which names the upload
prefix on S3 (``{code_uri}/{digest}/``): re-submitting unchanged code re-uses the same objects, and a
new version never overwrites the code a running step reads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from monitor_lib.errors import EnvironmentSetupError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../monitor_lib
JOBS_DIR = PACKAGE_DIR.parent / "jobs"  # the spark-submit entry points beside the package (checkout / -e install)
JOB_SCRIPTS = ("model_monitor.py",)
ZIP_NAME = "monitor_lib.zip"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Package:
    directory: Path
    zip_path: Path
    scripts: dict[str, Path]  # file name -> path
    digest: str  # sha256 of the zip and the scripts

    @property
    def short_digest(self) -> str:
        return self.digest[:12]

    def script(self, name: str) -> Path:
        return self.scripts[name]


def package_files(package_dir: Path = PACKAGE_DIR) -> list[tuple[str, Path]]:
    """``(name in the zip, file)`` for every file of the package, sorted by name."""
    out = []
    for root, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in files:
            if name.endswith(_SKIP_SUFFIXES) or name.startswith("."):
                continue
            path = Path(root) / name
            out.append((path.relative_to(package_dir.parent).as_posix(), path))
    return sorted(out)


def write_zip(path: Path, entries: list[tuple[str, Path]]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, source in entries:
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, source.read_bytes())


def build_package(directory: str | Path, package_dir: Path = PACKAGE_DIR, jobs_dir: Path = JOBS_DIR) -> Package:
    """Write ``monitor_lib.zip`` and the job scripts into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    missing = [s for s in JOB_SCRIPTS if not (jobs_dir / s).is_file()]
    if missing:
        raise EnvironmentSetupError(f"the job entry scripts {', '.join(missing)} are not in {jobs_dir}: submit "
                                    "packages them from a checkout of spark-model-monitor (pip install -e .)")
    zip_path = directory / ZIP_NAME
    write_zip(zip_path, package_files(package_dir))
    digest = hashlib.sha256(zip_path.read_bytes())
    scripts = {}
    for name in JOB_SCRIPTS:
        target = directory / name
        shutil.copyfile(jobs_dir / name, target)
        digest.update(name.encode() + b"\0" + target.read_bytes())
        scripts[name] = target
    return Package(directory, zip_path, scripts, digest.hexdigest())
