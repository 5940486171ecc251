"""Import a STIX bundle with `manage.py import_bundle` in a process of its own and report figures.

Run by the ATT&CK tests as `python -m tests.intel.attack_run BUNDLE [--export FILE]` with
DATABASE_URL pointing at an already migrated database. Prints one JSON line: the command's own
summary, wall time, the process's peak RSS (VmHWM) after the import, and (with --export) the
time to export every node with `selectors.bundle`, the time and summary of re-importing that
export, and the peak RSS at the end.
"""

import argparse
import io
import json
import os
import resource
import sys
import time


def _peak_rss_mb() -> float:
    """The process's peak resident set size. VmHWM belongs to this address space; ru_maxrss on
    Linux survives exec and so starts at the forking parent's size (pytest's, here)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("--export")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from cti.intel import selectors
    from cti.intel.models import StixObject
    from cti.intel.services import import_objects

    out: dict = {"rss_after_setup_mb": _peak_rss_mb()}
    stdout = io.StringIO()
    started = time.perf_counter()
    call_command("import_bundle", args.bundle, "--quiet-progress", stdout=stdout, stderr=stdout)
    out["import_seconds"] = round(time.perf_counter() - started, 2)
    out["import"] = json.loads(stdout.getvalue().splitlines()[0])
    out["rss_after_import_mb"] = _peak_rss_mb()

    if args.export:
        started = time.perf_counter()
        ids = set(StixObject.objects.values_list("pk", flat=True))
        exported = selectors.bundle(ids)
        with open(args.export, "w") as fh:
            json.dump(exported, fh)
        out["export_seconds"] = round(time.perf_counter() - started, 2)
        out["exported_objects"] = len(exported["objects"])
        started = time.perf_counter()
        result = import_objects(exported["objects"])
        out["reimport_seconds"] = round(time.perf_counter() - started, 2)
        out["reimport"] = {k: len(v) for k, v in result.as_dict().items()}
        out["rss_at_end_mb"] = _peak_rss_mb()
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
