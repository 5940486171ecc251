"""Password and session authentication that refuses locked users, as the API tokens do.

Django asks the backend both at login and on every request of an existing session
(`get_user`), so locking a user ends their admin and browsable-API sessions at once."""

from django.contrib.auth.backends import ModelBackend


class UnlockedModelBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "locked", False)
