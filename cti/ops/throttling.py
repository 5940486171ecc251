"""Rate limits per API user (and per address for anonymous calls). DRF makes the throttles
anew for every request, so the rates are read from settings each time."""

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SettingsRate:
    scope: str
    history: list[float]
    now: float
    duration: int
    num_requests: int

    @property
    def cache(self):
        return caches[settings.CTI_THROTTLE_CACHE]

    def get_rate(self) -> str | None:
        # None turns the limit off: DRF then allows every request
        return settings.CTI_THROTTLE_RATES.get(self.scope) or None

    def wait(self) -> float:
        """Seconds until the oldest request that still counts drops out of the window, so
        that Retry-After is always sent (DRF's estimate can be None)."""
        if len(self.history) < self.num_requests:
            return 1.0
        oldest_counted = self.history[self.num_requests - 1]
        return max(1.0, self.duration - (self.now - oldest_counted))


class ApiUserRateThrottle(_SettingsRate, UserRateThrottle):
    """Requests per authenticated user, whatever credential (token, HMAC, session)."""

    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None  # anonymous calls count under ApiAnonRateThrottle
        return super().get_cache_key(request, view)


class ApiAnonRateThrottle(_SettingsRate, AnonRateThrottle):
    """Requests per client address without a user (webhooks with a token, failed logins)."""

    scope = "anon"
