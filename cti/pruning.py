from django.db.models import QuerySet

BATCH = 5000


def delete_in_batches(queryset: QuerySet, batch: int = BATCH) -> int:
    """Delete the rows of `queryset` a batch at a time, so that no statement locks many rows
    (pruning runs beside live writers). Returns how many rows went."""
    total = 0
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:batch]):
        queryset.model.objects.filter(pk__in=ids).delete()
        total += len(ids)
    return total
