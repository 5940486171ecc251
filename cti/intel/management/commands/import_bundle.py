import gzip
import json
import time
from pathlib import Path

import ijson
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cti.intel.services import import_objects


class Command(BaseCommand):
    help = "Import (upsert) a STIX 2.1 bundle file, plain or gzip, streamed, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--quiet-progress", action="store_true")

    def handle(self, *args, path: str, batch_size: int, quiet_progress: bool, **options):
        file = Path(path)
        if not file.exists():
            raise CommandError(f"{file} does not exist")
        opener = gzip.open if file.read_bytes()[:2] == b"\x1f\x8b" else open
        started = time.monotonic()
        with (
            opener(file, "rb") as stream,
            tqdm(unit="obj", disable=quiet_progress, desc=file.name) as bar,
        ):
            objects = ijson.items(stream, "objects.item", use_float=True)
            result = import_objects(objects, batch_size=batch_size, progress=bar.update)
        summary = {
            "created": len(result.created),
            "updated": len(result.updated),
            "unchanged": len(result.unchanged),
            "rejected": len(result.rejected),
            "seconds": round(time.monotonic() - started, 1),
        }
        self.stdout.write(json.dumps(summary))
        for item in result.rejected[:20]:
            self.stderr.write(f"rejected {item['id']}: {item['reason']}")
