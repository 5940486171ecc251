import tests.rules_manager.conftest as rules_manager

# the rule-manager suite's fixtures: a Redis broker, a worker subprocess, PostgreSQL only
processes = rules_manager.processes
postgres_only = rules_manager.postgres_only
redis_broker = rules_manager.redis_broker
