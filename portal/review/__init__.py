"""Right of reply: during a review window a partner confirms or disputes its candidate figures."""
