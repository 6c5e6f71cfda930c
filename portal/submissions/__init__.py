"""Submissions: a partner's uploads, checked at once by the refresh's own contracts, landed atomically."""
