from celery import shared_task

from rules import services


@shared_task(name="rules.activate", acks_late=True)
def activate_rule(rule_id: str) -> int:
    return services.run_activation(rule_id)


@shared_task(name="rules.deactivate", acks_late=True)
def deactivate_rule(rule_id: str) -> None:
    services.run_deactivation(rule_id)


@shared_task(
    name="rules.process_graph_changes",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
def process_graph_changes() -> int:
    return services.process_graph_changes()
