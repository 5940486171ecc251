from tests.notify.conftest import http_receiver  # noqa: F401  (fixtures shared with notify)
from tests.rules_manager.conftest import postgres_only, processes, redis_broker  # noqa: F401
