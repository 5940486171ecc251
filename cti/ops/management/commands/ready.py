import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cti.ops import readiness


class Command(BaseCommand):
    help = "Run the readiness checks (as /ready does); exit 1 if one fails. For healthchecks."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="append",
            choices=sorted(readiness.CHECKS),
            help="only this check (repeatable); default: CTI_READY_CHECKS",
        )

    def handle(self, *args, **options) -> None:
        ok, checks = readiness.run(options["check"] or settings.CTI_READY_CHECKS)
        self.stdout.write(json.dumps({"status": "ok" if ok else "error", "checks": checks}))
        if not ok:
            raise CommandError("not ready")
