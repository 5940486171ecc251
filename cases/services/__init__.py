"""Writes with side effects. Each service runs inside the caller's transaction (the v3 viewset
opens one per request), so a failing nested child leaves nothing behind."""
