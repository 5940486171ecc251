import logging

from celery import shared_task
from celery.signals import worker_ready

from rules import services

logger = logging.getLogger(__name__)


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
    """Drain the outbox a batch at a time: one task may stand for many changes."""
    done = 0
    while count := services.process_graph_changes():
        done += count
    return done


@worker_ready.connect
def resume_unfinished_work(sender=None, **kwargs) -> None:
    """Enqueue again, when a worker starts, the rule work whose message may have been lost: the
    filesystem broker of the embedded default has no acknowledgements (a worker killed in a
    task loses its message), and an outbox row outlives a broker that was down at commit.
    Everything here is idempotent, so a message Redis also redelivers only costs a no-op."""
    from django.db import DatabaseError

    from rules.models import GraphChange, RuleState, RuleStatus

    try:
        unfinished = list(
            RuleState.objects.filter(
                status__in=(RuleStatus.ACTIVATING, RuleStatus.DEACTIVATING)
            ).values_list("rule_id", "active")
        )
        pending = GraphChange.objects.filter(parked=False).exists()
    except DatabaseError:  # not migrated yet: nothing to resume
        logger.warning("rules: could not look for unfinished work", exc_info=True)
        return
    activating = [rule_id for rule_id, active in unfinished if active]
    if activating:  # one activation materialises every unfinished active rule
        activate_rule.delay(activating[0])
    for rule_id in (rule_id for rule_id, active in unfinished if not active):
        deactivate_rule.delay(rule_id)
    if pending:
        process_graph_changes.delay()
    if unfinished or pending:
        logger.info(
            "rules: resumed %d unfinished rule(s), outbox pending: %s", len(unfinished), pending
        )
